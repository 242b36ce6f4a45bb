"""MQTT link to HQ: maps domain events to MQTT messages and signed HQ pushes back to the domain."""
