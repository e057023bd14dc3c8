import io
import json
import os
import sys
import unittest
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import appstruct  # noqa: E402
from appstruct import (Application, Handler, HTTPError, Request, Response,  # noqa: E402
                       accel_redirect, json_response, redirect)
from appstruct.routing import Route, Router  # noqa: E402


def make_environ(path="/", method="GET", query="", body=b"", content_type=None, headers=None):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
    }
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
    if content_type:
        environ["CONTENT_TYPE"] = content_type
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    setup_testing_defaults(environ)
    return environ


def call(app, path="/", **kwargs):
    environ = make_environ(path, **kwargs)
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"] = status
        captured["headers"] = headers

    body = b"".join(app(environ, start_response))
    return captured["status"], captured["headers"], body


def header(headers, name):
    values = [v for k, v in headers if k.lower() == name.lower()]
    return values[0] if values else None


class Index(Handler):
    def get(self):
        return "<h1>Hello</h1>"


class User(Handler):
    def get(self, id):
        return {"id": id, "type": type(id).__name__}

    def post(self, id):
        return redirect("/user/%d?saved=%s" % (id, self.request.form.get("name", "")), 303)


class Echo(Handler):
    def post(self):
        req = self.request
        return json_response({
            "query": req.query.getlist("tag"),
            "form": req.form.to_dict(),
            "cookie": req.cookies.get("session"),
            "agent": req.headers.get("user-agent"),
        })


class Files(Handler):
    def get(self, path):
        return accel_redirect("/protected/" + path, filename=path.rsplit("/", 1)[-1])


class Boom(Handler):
    def get(self):
        raise RuntimeError("kaboom")


class Teapot(Handler):
    def get(self):
        raise HTTPError(418, "short <and> stout")


def build_app(debug=False):
    app = Application([("/", Index), ("/user/{id:int}", User), ("/echo", Echo),
                       ("/files/{path:path}", Files), ("/boom", Boom)], debug=debug)

    @app.route("/teapot")
    class _Teapot(Teapot):
        pass

    return app


class RoutingTests(unittest.TestCase):
    def test_static_and_params(self):
        route = Route("/user/{name}/post/{num:int}", object)
        self.assertEqual(route.match("/user/ann/post/42"), {"name": "ann", "num": 42})
        self.assertIsNone(route.match("/user/ann/post/x"))
        self.assertIsNone(route.match("/user/ann/post/42/"))

    def test_path_converter_and_escaping(self):
        self.assertEqual(Route("/f/{p:path}", object).match("/f/a/b.txt"), {"p": "a/b.txt"})
        self.assertIsNone(Route("/a.b", object).match("/axb"))

    def test_first_match_wins(self):
        router = Router()
        router.add("/x/new", "new")
        router.add("/x/{id}", "item")
        self.assertEqual(router.match("/x/new"), ("new", {}))
        self.assertEqual(router.match("/x/7"), ("item", {"id": "7"}))
        self.assertEqual(router.match("/y"), (None, None))

    def test_bad_patterns(self):
        self.assertRaises(ValueError, Route, "no-slash", object)
        self.assertRaises(ValueError, Route, "/{a:float}", object)
        self.assertRaises(ValueError, Route, "/{a}/{a}", object)
        self.assertRaises(TypeError, Application, [("/", object)])


class RequestTests(unittest.TestCase):
    def test_basic_attributes(self):
        req = Request(make_environ("/caf\xc3\xa9", query="a=1&a=2&b=", headers={"X-Forwarded-For": "10.0.0.1"}))
        self.assertEqual(req.method, "GET")
        self.assertEqual(req.path, "/caf\u00e9")
        self.assertEqual(req.query["a"], "1")
        self.assertEqual(req.query.getlist("a"), ["1", "2"])
        self.assertEqual(req.query.get("b"), "")
        self.assertIsNone(req.query.get("missing"))
        self.assertEqual(req.headers["x-forwarded-for"], "10.0.0.1")
        self.assertIn("X_Forwarded_For", req.headers)
        self.assertTrue(req.url.startswith("http://127.0.0.1/"))

    def test_form_body_and_cookies(self):
        body = urlencode({"name": "Zo\u00eb", "age": "7"}).encode()
        req = Request(make_environ("/", method="POST", body=body,
                                   content_type="application/x-www-form-urlencoded; charset=utf-8",
                                   headers={"Cookie": "session=abc123; theme=dark"}))
        self.assertEqual(req.content_type, "application/x-www-form-urlencoded")
        self.assertEqual(req.form["name"], "Zo\u00eb")
        self.assertEqual(req.form.to_dict(), {"name": "Zo\u00eb", "age": "7"})
        self.assertEqual(req.cookies, {"session": "abc123", "theme": "dark"})
        self.assertEqual(req.headers["Content-Length"], str(len(body)))

    def test_json_body(self):
        req = Request(make_environ("/", method="POST", body=b'{"x": [1, 2]}',
                                   content_type="application/json"))
        self.assertEqual(req.json(), {"x": [1, 2]})
        self.assertEqual(req.form.to_dict(), {})
        bad = Request(make_environ("/", method="POST", body=b"{nope"))
        with self.assertRaises(HTTPError) as ctx:
            bad.json()
        self.assertEqual(ctx.exception.status, 400)


class ResponseTests(unittest.TestCase):
    def test_defaults_and_headers(self):
        resp = Response("h\u00e9")
        self.assertEqual(resp.status_line, "200 OK")
        self.assertEqual(resp.body, "h\u00e9".encode("utf-8"))
        self.assertEqual(resp.get_header("content-type"), "text/html; charset=utf-8")
        resp.set_header("X-A", "1")
        resp.set_header("x-a", "2")
        self.assertEqual([v for k, v in resp.headers if k.lower() == "x-a"], ["2"])
        self.assertIn(("Content-Length", "3"), resp.wsgi_headers())
        self.assertRaises(TypeError, Response, 42)

    def test_redirect_json_and_cookies(self):
        resp = redirect("/elsewhere", 301)
        self.assertEqual(resp.status_line, "301 Moved Permanently")
        self.assertEqual(resp.get_header("Location"), "/elsewhere")
        self.assertRaises(ValueError, redirect, "/x", 200)
        resp = json_response({"b": 1, "a": [True, None]}, status=201)
        self.assertEqual(resp.body, b'{"a":[true,null],"b":1}')
        self.assertEqual(resp.get_header("Content-Type"), "application/json; charset=utf-8")
        resp.set_cookie("sid", "xyz", max_age=60)
        cookie = header(resp.wsgi_headers(), "Set-Cookie")
        self.assertIn("sid=xyz", cookie)
        self.assertIn("Max-Age=60", cookie)
        self.assertIn("HttpOnly", cookie)


class ApplicationTests(unittest.TestCase):
    def setUp(self):
        self.app = build_app()

    def test_version(self):
        self.assertEqual(appstruct.__version__, "1.4.0")

    def test_get_html(self):
        status, headers, body = call(self.app, "/")
        self.assertEqual(status, "200 OK")
        self.assertEqual(body, b"<h1>Hello</h1>")
        self.assertEqual(header(headers, "Content-Length"), str(len(body)))

    def test_head_uses_get_without_body(self):
        status, headers, body = call(self.app, "/", method="HEAD")
        self.assertEqual(status, "200 OK")
        self.assertEqual(body, b"")
        self.assertEqual(header(headers, "Content-Length"), "14")

    def test_path_params_and_json(self):
        status, headers, body = call(self.app, "/user/12")
        self.assertEqual(status, "200 OK")
        self.assertEqual(json.loads(body.decode()), {"id": 12, "type": "int"})

    def test_post_redirect(self):
        status, headers, _ = call(self.app, "/user/3", method="POST", body=b"name=ann",
                                  content_type="application/x-www-form-urlencoded")
        self.assertEqual(status, "303 See Other")
        self.assertEqual(header(headers, "Location"), "/user/3?saved=ann")

    def test_echo(self):
        status, _, body = call(self.app, "/echo", method="POST", query="tag=a&tag=b",
                               body=b"k=v", content_type="application/x-www-form-urlencoded",
                               headers={"Cookie": "session=s1", "User-Agent": "t/1"})
        self.assertEqual(status, "200 OK")
        self.assertEqual(json.loads(body.decode()),
                         {"query": ["a", "b"], "form": {"k": "v"}, "cookie": "s1", "agent": "t/1"})

    def test_not_found(self):
        status, _, body = call(self.app, "/nowhere")
        self.assertEqual(status, "404 Not Found")
        self.assertIn(b"/nowhere", body)
        status, _, _ = call(self.app, "/user/abc")
        self.assertEqual(status, "404 Not Found")

    def test_method_not_allowed(self):
        status, headers, _ = call(self.app, "/", method="DELETE")
        self.assertEqual(status, "405 Method Not Allowed")
        self.assertEqual(header(headers, "Allow"), "GET, HEAD")
        status, headers, _ = call(self.app, "/echo", method="GET")
        self.assertEqual(status, "405 Method Not Allowed")
        self.assertEqual(header(headers, "Allow"), "POST")

    def test_http_error_is_escaped(self):
        status, _, body = call(self.app, "/teapot")
        self.assertEqual(status, "418 I'm a Teapot" if sys.version_info >= (3, 9) else "418 Unknown")
        self.assertIn(b"short &lt;and&gt; stout", body)

    def test_accel_redirect(self):
        status, headers, body = call(self.app, "/files/reports/q3.pdf")
        self.assertEqual(status, "200 OK")
        self.assertEqual(header(headers, "X-Accel-Redirect"), "/protected/reports/q3.pdf")
        self.assertEqual(header(headers, "Content-Disposition"), 'attachment; filename="q3.pdf"')
        self.assertEqual(body, b"")

    def test_server_error(self):
        environ = make_environ("/boom")
        out = {}
        body = b"".join(self.app(environ, lambda s, h, e=None: out.update(status=s)))
        self.assertEqual(out["status"], "500 Internal Server Error")
        self.assertNotIn(b"kaboom", body)
        self.assertIn("RuntimeError: kaboom", environ["wsgi.errors"].getvalue())
        status, _, body = call(build_app(debug=True), "/boom")
        self.assertEqual(status, "500 Internal Server Error")
        self.assertIn(b"RuntimeError: kaboom", body)


if __name__ == "__main__":
    unittest.main()
