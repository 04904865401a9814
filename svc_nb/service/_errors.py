"""Errors for misuse of svc_nb.service; a service that is broken is a finding, never one of these."""

from __future__ import annotations

from svc_nb._exceptions import ArgumentTypeError, ArgumentValueError, SvcNbError

__all__ = ["ServiceError", "ServiceTypeError", "ServiceValueError"]


class ServiceError(SvcNbError):
    """Root of the errors svc_nb.service raises."""


class ServiceTypeError(ServiceError, ArgumentTypeError):
    """An argument of the wrong type (a target that is neither an app, a string nor a URL)."""


class ServiceValueError(ServiceError, ArgumentValueError):
    """An argument with a value that cannot be used (an empty replay path)."""
