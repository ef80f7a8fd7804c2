"""The command line: wiring only, no logic of its own."""
