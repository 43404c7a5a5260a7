"""Camera and document vision: capture, customer presence, codes, MRZ, receipts, OCR."""
