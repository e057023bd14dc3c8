"""The Request object: a read-only view of a WSGI environ."""

import json
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qsl
from wsgiref.util import request_uri

__all__ = ["MultiDict", "Headers", "Request"]

#: Bodies larger than this are refused (413) instead of being read.
MAX_BODY_SIZE = 10 * 1024 * 1024


class MultiDict(dict):
    """A dict of lists; item access returns the first value for a key."""

    def __init__(self, pairs=()):
        dict.__init__(self)
        for key, value in pairs:
            self.setdefault(key, []).append(value)

    def __getitem__(self, key):
        return dict.__getitem__(self, key)[0]

    def get(self, key, default=None):
        values = dict.get(self, key)
        return values[0] if values else default

    def getlist(self, key):
        return list(dict.get(self, key, []))

    def items(self):
        return [(k, dict.__getitem__(self, k)[0]) for k in self]

    def to_dict(self):
        return dict(self.items())


class Headers(object):
    """Case-insensitive access to the request headers found in a WSGI environ."""

    def __init__(self, environ):
        self._data = {}
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                name = key[5:]
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                name = key
            else:
                continue
            if value != "":
                self._data[name.replace("_", "-").title()] = value

    @staticmethod
    def _norm(name):
        return name.replace("_", "-").title()

    def __getitem__(self, name):
        return self._data[self._norm(name)]

    def __contains__(self, name):
        return self._norm(name) in self._data

    def get(self, name, default=None):
        return self._data.get(self._norm(name), default)

    def __iter__(self):
        return iter(self._data.items())

    def __len__(self):
        return len(self._data)


def _wsgi_str(value):
    """WSGI passes paths as latin-1 decoded bytes; recover the UTF-8 text."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


class Request(object):
    """An incoming HTTP request."""

    def __init__(self, environ):
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        self.script_name = _wsgi_str(environ.get("SCRIPT_NAME", ""))
        self.path = _wsgi_str(environ.get("PATH_INFO", "")) or "/"
        self.query_string = environ.get("QUERY_STRING", "")
        self.headers = Headers(environ)
        self._body = None
        self._form = None
        self._cookies = None
        self._query = None

    @property
    def url(self):
        """The full URL of this request, as reconstructed by wsgiref."""
        return request_uri(self.environ)

    @property
    def remote_addr(self):
        return self.environ.get("REMOTE_ADDR", "")

    @property
    def scheme(self):
        return self.environ.get("wsgi.url_scheme", "http")

    @property
    def content_type(self):
        """The media type of the body, without parameters, lower-cased."""
        return self.environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()

    @property
    def query(self):
        """Query string parameters as a :class:`MultiDict`."""
        if self._query is None:
            self._query = MultiDict(parse_qsl(self.query_string, keep_blank_values=True))
        return self._query

    @property
    def body(self):
        """The raw request body as bytes (read once, then cached)."""
        if self._body is None:
            try:
                length = int(self.environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > MAX_BODY_SIZE:
                from .response import HTTPError
                raise HTTPError(413)
            stream = self.environ.get("wsgi.input")
            self._body = stream.read(length) if (stream is not None and length > 0) else b""
        return self._body

    @property
    def form(self):
        """Fields of an ``application/x-www-form-urlencoded`` body."""
        if self._form is None:
            pairs = []
            if self.content_type == "application/x-www-form-urlencoded":
                text = self.body.decode("utf-8", "replace")
                pairs = parse_qsl(text, keep_blank_values=True)
            self._form = MultiDict(pairs)
        return self._form

    def json(self):
        """Decode a JSON body; raises HTTPError(400) if it is not valid JSON."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except ValueError:
            from .response import HTTPError
            raise HTTPError(400, "invalid JSON body")

    @property
    def cookies(self):
        """Request cookies as a plain ``{name: value}`` dict."""
        if self._cookies is None:
            jar = SimpleCookie()
            try:
                jar.load(self.environ.get("HTTP_COOKIE", ""))
            except CookieError:
                pass
            self._cookies = dict((k, m.value) for k, m in jar.items())
        return self._cookies

    def __repr__(self):
        return "<Request %s %s>" % (self.method, self.path)
