"""Words for people: notifications in Simplified Chinese and English, with the site's names."""
