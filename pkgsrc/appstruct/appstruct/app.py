"""The WSGI Application and the Handler base class."""

import sys
import traceback

from .request import Request
from .response import HTTPError, Response, json_response
from .routing import Router

__all__ = ["Application", "Handler"]

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class Handler(object):
    """Base class for request handlers.

    Define one method per HTTP verb (``get``, ``post``, ...).  Path parameters
    are passed as keyword arguments.  A method may return a :class:`Response`,
    a ``str`` or ``bytes`` body, or a ``dict``/``list`` to be sent as JSON.
    """

    def __init__(self, request, app):
        self.request = request
        self.app = app

    @classmethod
    def allowed_methods(cls):
        allowed = [m for m in HTTP_METHODS if callable(getattr(cls, m.lower(), None))]
        if "GET" in allowed and "HEAD" not in allowed:
            allowed.insert(allowed.index("GET") + 1, "HEAD")
        return allowed


class Application(object):
    """A WSGI application dispatching requests to handler classes.

    >>> app = Application([("/", Index), ("/user/{id:int}", User)])
    """

    def __init__(self, routes=(), debug=False):
        self.router = Router()
        self.debug = debug
        for pattern, handler in routes:
            self.add_route(pattern, handler)

    def add_route(self, pattern, handler):
        if not (isinstance(handler, type) and issubclass(handler, Handler)):
            raise TypeError("handler for %r must be a Handler subclass" % pattern)
        return self.router.add(pattern, handler)

    def route(self, pattern):
        """Class decorator: ``@app.route("/path")``."""
        def decorator(handler):
            self.add_route(pattern, handler)
            return handler
        return decorator

    def dispatch(self, request):
        handler_cls, params = self.router.match(request.path)
        if handler_cls is None:
            raise HTTPError(404, "No resource at %s" % request.path)
        allowed = handler_cls.allowed_methods()
        if request.method not in allowed:
            raise HTTPError(405, headers={"Allow": ", ".join(allowed)})
        handler = handler_cls(request, self)
        name = request.method.lower()
        if request.method == "HEAD" and not callable(getattr(handler, "head", None)):
            name = "get"
        return self.make_response(getattr(handler, name)(**params))

    @staticmethod
    def make_response(value):
        if isinstance(value, Response):
            return value
        if value is None:
            return Response(b"", status=204)
        if isinstance(value, (str, bytes)):
            return Response(value)
        if isinstance(value, (dict, list)):
            return json_response(value)
        raise TypeError("handler returned unsupported type %s" % type(value).__name__)

    def handle_exception(self, request, exc_text):
        request.environ.get("wsgi.errors", sys.stderr).write(exc_text)
        if self.debug:
            return Response(exc_text, status=500, content_type="text/plain; charset=utf-8")
        return HTTPError(500).to_response()

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except HTTPError as err:
            response = err.to_response()
        except Exception:
            response = self.handle_exception(request, traceback.format_exc())
        return response(environ, start_response)
