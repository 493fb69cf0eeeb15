"""Device side: facility profiles, the MQTT message contract, device client and fleet simulator.

This package imports nothing of the service; the service imports its profiles and contract.
"""
