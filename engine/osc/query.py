"""OSCQuery: the parameter namespace as JSON over HTTP, for tools that browse it.

Follows the OSCQuery proposal (Vidvox): GET / returns the tree of CONTENTS with
FULL_PATH, TYPE, VALUE, RANGE, DESCRIPTION, ACCESS (1 read, 2 write, 3 both) and
UNIT; GET /a/b returns that node; `?VALUE`, `?TYPE`, `?RANGE`... return one
attribute; `?HOST_INFO` names the server and its OSC port. Values are read from
the parameter store, and the status figures (/tensorstage/...) from what the
heartbeat would send, at the moment of the request.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import urlsplit

from engine.osc.address_space import IN, OscAddress
from engine.params import BOOL, ParamStore

ACCESS = {"in": 2, "out": 1}


def namespace(addresses: list[OscAddress], store: ParamStore | None) -> dict[str, Any]:
    root: dict[str, Any] = {"FULL_PATH": "/", "ACCESS": 0, "CONTENTS": {}}
    for entry in addresses:
        node = root
        parts = entry.address.strip("/").split("/")
        for i, part in enumerate(parts):
            node = node["CONTENTS"].setdefault(part, {
                "FULL_PATH": "/" + "/".join(parts[: i + 1]), "ACCESS": 0, "CONTENTS": {}})
        node.update({"TYPE": entry.type_tag.replace("[", "").replace("]", "").replace(".", ""),
                     "DESCRIPTION": entry.description, "ACCESS": ACCESS[entry.direction]})
        spec = entry.spec
        if spec is not None:
            value = store.target(entry.address[1:]) if store is not None else spec.default
            node["VALUE"] = [int(value) if spec.type == BOOL else value]
            node["ACCESS"] = 3 if entry.direction == IN else 1
            if spec.choices:
                node["RANGE"] = [{"VALS": list(spec.choices)}]
            elif spec.type == BOOL:
                node["RANGE"] = [{"MIN": 0, "MAX": 1}]
            elif spec.range:
                node["RANGE"] = [{"MIN": spec.min, "MAX": spec.max}]
            if spec.unit:
                node["UNIT"] = [spec.unit]
    _drop_empty_contents(root)
    return root


def _with_values(node: dict[str, Any], values: dict[str, list[Any]]) -> dict[str, Any]:
    """A copy of `node` (the cached tree is shared) with the status figures' values now."""
    out = dict(node)
    if out.get("FULL_PATH") in values:
        out["VALUE"] = values[out["FULL_PATH"]]
    if "CONTENTS" in out:
        out["CONTENTS"] = {name: _with_values(child, values) for name, child in out["CONTENTS"].items()}
    return out


def _drop_empty_contents(node: dict[str, Any]) -> None:
    """Leaves carry no CONTENTS (the proposal's shape)."""
    for child in node.get("CONTENTS", {}).values():
        _drop_empty_contents(child)
    if "CONTENTS" in node and not node["CONTENTS"] and node["FULL_PATH"] != "/":
        del node["CONTENTS"]


MAX_CLIENTS = 16         # connections served at once; more are closed at once
HEALTH_PATH = "/health"  # a node cannot be called so (engine/patch.py reserves it)
CLIENT_TIMEOUT_S = 5.0   # a client that sends nothing for this long is dropped


class OscQueryServer:
    """The namespace over HTTP. Honours the OSC allow-list, serves at most
    MAX_CLIENTS at once and drops slow ones, and builds the namespace only
    when the patch or a value changed (a cache checked per request)."""

    def __init__(self, addresses: Callable[[], list[OscAddress]], store: ParamStore, host: str, port: int,
                 osc_port: int, name: str = "tensorstage", allow: tuple[str, ...] = (),
                 client_timeout_s: float = CLIENT_TIMEOUT_S,
                 health: Callable[[], dict[str, Any]] | None = None,
                 status: Callable[[], dict[str, list[Any]]] | None = None) -> None:
        self.addresses, self.store = addresses, store
        self.health = health
        self.status = status          # the heartbeat's figures, by address, read at each request
        self.allow = set(allow)
        self.refused = 0
        self._slots = threading.BoundedSemaphore(MAX_CLIENTS)
        self._cache: tuple[list, int, dict[str, Any]] | None = None     # (addresses, store version, tree)
        self.host_info = {"NAME": name, "OSC_IP": host, "OSC_PORT": osc_port, "OSC_TRANSPORT": "UDP",
                          "EXTENSIONS": {"ACCESS": True, "VALUE": True, "RANGE": True, "DESCRIPTION": True,
                                         "UNIT": True, "TYPE": True}}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            timeout = client_timeout_s

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                status, body = outer.answer(self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass  # requests are not news

        class Server(ThreadingHTTPServer):
            request_queue_size = 64          # a burst of connections is accepted and judged, not left waiting

            def verify_request(self, request: Any, client_address: Any) -> bool:
                if outer.allow and client_address[0] not in outer.allow:
                    outer.refused += 1
                    return False
                if not outer._slots.acquire(blocking=False):
                    outer.refused += 1
                    return False
                return True

            def process_request_thread(self, request: Any, client_address: Any) -> None:
                try:
                    super().process_request_thread(request, client_address)
                finally:
                    outer._slots.release()

        self.httpd = Server((host, port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="oscquery", daemon=True)

    def answer(self, raw_path: str) -> tuple[int, Any]:
        parts = urlsplit(raw_path)
        if parts.query == "HOST_INFO":
            return 200, self.host_info
        if parts.path.rstrip("/") == HEALTH_PATH and self.health is not None:
            answer = self.health()
            return (200 if answer["up"] else 503), answer
        node = self.tree()
        for part in [p for p in parts.path.split("/") if p]:
            node = node.get("CONTENTS", {}).get(part)
            if node is None:
                return 404, {"error": f"no OSC address {parts.path}"}
        if self.status is not None:
            node = _with_values(node, self.status())
        if parts.query:
            if parts.query not in node:
                return 204 if parts.query == "VALUE" else 400, {}
            return 200, {parts.query: node[parts.query]}
        return 200, node

    def tree(self) -> dict[str, Any]:
        addresses, version = self.addresses(), self.store.version
        cached = self._cache
        if cached is None or cached[0] is not addresses or cached[1] != version:
            cached = self._cache = (addresses, version, namespace(addresses, self.store))
        return cached[2]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
