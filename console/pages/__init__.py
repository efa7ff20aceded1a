"""The console's screens, one module per part; importing a module registers its routes."""
