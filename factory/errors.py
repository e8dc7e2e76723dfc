"""User-facing errors: a short message naming what to fix, shown without a traceback."""


class FactoryError(Exception):
    """Bad input or an unmet precondition, explained for the person running the factory.

    The CLI prints the message and exits with code 2; nothing half-written is left looking
    complete when one is raised.
    """
