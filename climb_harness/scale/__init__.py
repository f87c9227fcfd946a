"""Where users outgrow one process: Ray grids (``--backend ray``) and data parallelism (``--launcher accelerate``)."""
