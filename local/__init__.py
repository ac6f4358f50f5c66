"""Local stand-ins for running the connector offline: Twilio emulator, moto, demo."""
