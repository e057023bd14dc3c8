"""AppStruct: a tiny WSGI framework built on the Python standard library."""

from .app import Application, Handler
from .request import Headers, MultiDict, Request
from .response import HTTPError, Response, accel_redirect, json_response, redirect
from .routing import Route, Router

__version__ = "1.4.0"

__all__ = [
    "Application",
    "Handler",
    "Headers",
    "HTTPError",
    "MultiDict",
    "Request",
    "Response",
    "Route",
    "Router",
    "accel_redirect",
    "json_response",
    "redirect",
]
