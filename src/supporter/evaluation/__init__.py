"""How well a provider classifies labelled tickets: `metrics` scores predictions (plain
Python, no numeric libraries), `runner` has any provider answer a labelled file."""
