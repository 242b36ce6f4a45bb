"""The kiosk program: the composition root, the command line, doctor, logging, systemd notify and
the simulation. The only package allowed to import every layer (kiosk, drivers, screens, sync)."""
