"""The base of every error a user or technician can act on.

Anything raised as a KioskError carries a message that says what is wrong and what to do;
the command line prints it as one line instead of a traceback.
"""


class KioskError(Exception):
    pass
