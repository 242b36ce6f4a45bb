"""Hardware drivers: MFRC522 transports, protocol driver, emulator and tap detection.

Nothing here knows about members, points or the ledger; hardware libraries (spidev, RPi.GPIO,
pyserial, mfrc522) are imported only when the transport that needs them is opened.
"""
