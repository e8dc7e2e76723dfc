"""User-facing errors: a short message naming what to fix, shown without a traceback."""

import difflib


class FactoryError(Exception):
    """Bad input or an unmet precondition, explained for the person running the factory.

    The CLI prints the message and exits with code 2; nothing half-written is left looking
    complete when one is raised.
    """


def did_you_mean(word, choices, ignore_case: bool = False) -> str:
    """' (did you mean X?)' naming the choice closest to a misspelt `word`, or ''."""
    table = {(str(c).lower() if ignore_case else str(c)): str(c) for c in choices}
    key = str(word).lower() if ignore_case else str(word)
    close = difflib.get_close_matches(key, list(table), n=1)
    return f" (did you mean {table[close[0]]!r}?)" if close else ""
