"""Device side: fault vocabulary, facility profiles, MQTT message contract, client and simulator.

This package imports nothing of the service. The service imports only its shared modules
(``catalogue``, ``profiles``, ``contract``); scripts/import_contract.py enforces both.
"""
