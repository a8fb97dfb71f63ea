# Logging from a fileConfig .ini kept next to the config.
import os

logconfig = os.path.join(os.path.dirname(os.path.abspath(__file__)), "logging.ini")
workers = 1
