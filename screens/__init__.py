"""pygame touchscreen UI: screens draw kiosk state and turn touches into intents, nothing more."""
