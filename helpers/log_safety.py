"""Keep secrets out of log output when a learner turns on DEBUG logging.

``logging.basicConfig(level=logging.DEBUG)`` shows every library's debug records, and at
DEBUG requests-oauthlib and oauthlib log whole token requests and answers: the
``Authorization: Basic`` header (the client secret), the form body (a PKCE verifier, a
refresh token), the tokens received, and the local server's app records with their
secrets. urllib3 logs each request line, query string included (an authorization code).

:func:`keep_secrets_out_of_logs` runs when ``helpers`` is imported:

- the ``oauthlib`` and ``requests_oauthlib`` loggers are set to INFO unless the program set
  a level on them itself: their DEBUG records are the ones with secrets; warnings and errors
  still show;
- urllib3's request lines keep the method, path and status but show ``...`` for each query
  value (a filter on ``urllib3.connectionpool``, the logger that writes them).

A learner who really wants oauthlib's debug output sets its level explicitly
(``logging.getLogger("oauthlib").setLevel(logging.DEBUG)``) and then sees secrets.
"""

from __future__ import annotations

import logging
import re

__all__ = ["QueryValueFilter", "keep_secrets_out_of_logs", "SECRET_LOGGING_LIBRARIES"]

#: Loggers whose DEBUG records carry request bodies, headers or tokens.
SECRET_LOGGING_LIBRARIES = ("oauthlib", "requests_oauthlib")
_QUERY_VALUE = re.compile(r"([?&][^=&\s#]*=)[^&\s#\"]*")


def _hide_query_values(value: object) -> object:
    return _QUERY_VALUE.sub(r"\1...", value) if isinstance(value, str) and "?" in value else value


class QueryValueFilter(logging.Filter):
    """Replaces every query value in a record's message and arguments with ``...``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _hide_query_values(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_hide_query_values(arg) for arg in record.args)
        return True


def keep_secrets_out_of_logs() -> None:
    """Quiet the loggers that write secrets at DEBUG and mask urllib3's query strings (idempotent)."""
    for name in SECRET_LOGGING_LIBRARIES:
        library_logger = logging.getLogger(name)
        if library_logger.level == logging.NOTSET:
            library_logger.setLevel(logging.INFO)
    pool_logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(existing, QueryValueFilter) for existing in pool_logger.filters):
        pool_logger.addFilter(QueryValueFilter())
