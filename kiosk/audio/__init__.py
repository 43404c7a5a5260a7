"""Audio in and out: sources that yield 16 kHz mono 16-bit PCM, end-pointing, spoken replies."""
