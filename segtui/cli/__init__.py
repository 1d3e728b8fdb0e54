"""The command line: the headless twin of the app. Each command calls the core and prints."""
