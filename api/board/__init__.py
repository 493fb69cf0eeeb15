"""The street board: one request colouring every community, grid and building."""
