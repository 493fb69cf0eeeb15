"""Tests of the device side: behaviour, fault injection, client and fleet simulator."""
