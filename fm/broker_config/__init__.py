"""`fm broker-config`: Mosquitto config, password file, ACL and credentials from the site file."""

from fm.broker_config.accounts import Account, BrokerConfigError, Role
from fm.broker_config.files import BrokerFiles, BrokerLayout, write_broker_config

__all__ = [
    "Account",
    "BrokerConfigError",
    "BrokerFiles",
    "BrokerLayout",
    "Role",
    "write_broker_config",
]
