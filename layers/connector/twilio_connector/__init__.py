"""Shared layer of the Twilio connector: configuration, Twilio client, rendering, errors."""
