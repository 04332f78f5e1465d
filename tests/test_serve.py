"""Tests for tinygrad_opt/race/serve.py: every request gets an answer, and the server holds up.

Each test talks to a real server on 127.0.0.1 (port 0: a free one) over real sockets, and
every wait is bounded by a timeout, so a server that drops a request fails the test instead
of hanging it.
"""

import http.client
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tinygrad_opt.race import serve
from tinygrad_opt.race.page import race_data
from tinygrad_opt.race.serve import LISTEN_BACKLOG, REQUEST_TIMEOUT, RaceHandler, make_server

WAIT = 30  # seconds: the longest any single answer may take here


@pytest.fixture()
def server():
    server = make_server(0, first="bowl", landscapes=["bowl"])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=WAIT)


def get(server, path, host=None):
    """(status, JSON or text body) of `GET path`, with `host` as the Host header when given."""
    port = server.server_address[1]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
    try:
        connection.putrequest("GET", path, skip_host=host is not None)
        if host:
            connection.putheader("Host", host)
        connection.endheaders()
        reply = connection.getresponse()
        body = reply.read()
        kind = reply.getheader("Content-Type", "")
        return reply.status, json.loads(body) if kind == "application/json" else body.decode()
    finally:
        connection.close()


# ------------------------------------------------------------ every answer
def test_a_start_far_outside_the_landscape_is_a_400_naming_it(server):
    status, body = get(server, "/race?landscape=rastrigin&lr=0.01&x=1e308&y=0")
    assert status == 400
    assert body["error"].startswith("x, y = (1e+308, 0) is outside rastrigin's escape box: x from")


@pytest.mark.parametrize("query, message", [
    ("landscape=bowl&lr=0.1&x=1&y=inf", "parameter y must be finite, got 'inf'"),
    ("landscape=bowl&lr=1e999&x=1&y=1", "parameter lr must be finite"),
    ("landscape=bowl&lr=0.1&x=1&y=1&steps=99999999999999999999", "steps must be a whole number from 1 to"),
    ("landscape=bowl&lr=0.1&x=1&y=1&steps=-3", "steps must be a whole number from 1 to 5000, got '-3'"),
    ("landscape=%FF&lr=0.1&x=1&y=1", "unknown landscape"),
    ("", "unknown landscape ''"),
])
def test_bad_parameters_are_400s_naming_them(server, query, message):
    status, body = get(server, f"/race?{query}")
    assert status == 400 and message in body["error"]


def test_a_race_that_fails_is_a_500_and_a_line_on_stderr(server, monkeypatch, capfd):
    def broken(**request):
        raise RuntimeError("the landscape fell over")

    monkeypatch.setattr(serve, "race_data", broken)
    status, body = get(server, "/race?landscape=bowl&lr=0.1&x=1&y=1")
    assert status == 500 and body == {"error": "internal error: RuntimeError: the landscape fell over"}
    error = capfd.readouterr().err
    assert "GET /race?landscape=bowl&lr=0.1&x=1&y=1 failed: RuntimeError: the landscape fell over" in error
    assert "Traceback" not in error
    monkeypatch.undo()
    assert get(server, "/race?landscape=bowl&lr=0.1&x=1&y=1&steps=3")[0] == 200  # still serving


def test_other_methods_and_paths_are_answered(server):
    assert get(server, "/elsewhere") == (404, {"error": "no such page: /elsewhere"})
    port = server.server_address[1]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
    connection.request("POST", "/race", body=b"x=1")
    assert connection.getresponse().status == 501  # http.server's answer to a method it lacks
    connection.close()


# ------------------------------------------------------------ the Host check
def test_only_its_own_host_names_are_served(server):
    port = server.server_address[1]
    race = "/race?landscape=bowl&lr=0.1&x=1&y=1&steps=3"
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LocalHost:{port}"):
        assert get(server, race, host=host)[0] == 200
        assert get(server, "/", host=host)[0] == 200
    for host in (f"attacker.example:{port}", "attacker.example", f"127.0.0.1:{port + 1}", "localhost",
                 f"127.0.0.1.attacker.example:{port}", ""):
        for path in (race, "/"):
            status, body = get(server, path, host=host or " ")
            assert status == 403, host
            assert body["error"].startswith("refused Host ")
            assert f"answers only to 127.0.0.1:{port} or localhost:{port}" in body["error"]


def test_a_request_without_host_is_refused(server):
    with socket.create_connection(server.server_address, timeout=WAIT) as client:
        client.sendall(b"GET / HTTP/1.0\r\n\r\n")
        reply = _read_all(client)
    assert reply.startswith(b"HTTP/1.0 403") and b"refused Host ''" in reply


# ------------------------------------------------------------ slow, many, gone
def _read_all(client):
    chunks = []
    while chunk := client.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_silent_client_is_dropped_after_the_timeout(server, monkeypatch):
    assert RaceHandler.timeout == REQUEST_TIMEOUT and 0 < REQUEST_TIMEOUT <= 30
    monkeypatch.setattr(RaceHandler, "timeout", 0.5)
    for greeting in (b"", b"GET /race?landscape=bowl"):  # nothing, or half a request line
        with socket.create_connection(server.server_address, timeout=WAIT) as client:
            client.sendall(greeting)
            started = time.monotonic()
            assert _read_all(client) == b""  # the server closed the connection
            assert time.monotonic() - started < WAIT / 2
    assert get(server, "/race?landscape=bowl&lr=0.1&x=1&y=1&steps=3")[0] == 200


def test_the_listen_queue_holds_100_connections():
    assert LISTEN_BACKLOG >= 100
    server = make_server(0, landscapes=["bowl"])  # listening, but not accepting yet
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    clients = []
    try:
        for _ in range(100):  # each connection completes in the kernel's queue, or times out
            clients.append(socket.create_connection(server.server_address, timeout=2))
        thread.start()
        port = server.server_address[1]
        for i, client in enumerate(clients):
            client.sendall(f"GET /race?landscape=bowl&lr=0.1&x={i % 5}&y=1&steps=2 HTTP/1.0\r\n"
                           f"Host: 127.0.0.1:{port}\r\n\r\n".encode())
        for client in clients:
            client.settimeout(WAIT)
            assert _read_all(client).startswith(b"HTTP/1.0 200")
    finally:
        for client in clients:
            client.close()
        if thread.is_alive():
            server.shutdown()
        server.server_close()


def test_100_concurrent_clients_all_get_their_race(server):
    def one(i):
        return get(server, f"/race?landscape=bowl&lr=0.1&x={i / 50}&y=1&steps=20")

    with ThreadPoolExecutor(max_workers=100) as pool:
        answers = list(pool.map(one, range(100)))
    assert [status for status, _ in answers] == [200] * 100
    assert answers[37][1] == race_data("bowl", 0.1, start=(37 / 50, 1.0), steps=20)


def test_a_client_that_leaves_early_leaves_no_traceback(server, capfd):
    port = server.server_address[1]
    threads_before = threading.active_count()
    for path in ("/race?landscape=bowl&lr=0.1&x=1&y=1&steps=300", "/"):
        for _ in range(3):
            client = socket.create_connection(server.server_address, timeout=WAIT)
            client.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()  # a reset before the answer: the answer has nowhere to go
    deadline = time.monotonic() + WAIT
    while threading.active_count() > threads_before and time.monotonic() < deadline:
        time.sleep(0.05)  # until the server has tried (and failed) to answer all six
    assert threading.active_count() == threads_before
    assert get(server, "/race?landscape=bowl&lr=0.1&x=1&y=1&steps=3")[0] == 200
    assert capfd.readouterr().err == ""


# ------------------------------------------------------------ the real command
def test_race_serve_on_the_command_line(tmp_path):
    command = [sys.executable, "-m", "tinygrad_opt", "race", "--serve", "--port", "0", "--landscape", "bowl"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": ""})
    try:
        first_line = []
        reader = threading.Thread(target=lambda: first_line.append(process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout=120)  # the page is built first: all eight landscapes
        assert first_line, "tinygrad-opt race --serve printed no address"
        address = r"The optimizer race: http://127\.0\.0\.1:(\d+)/  \(Ctrl-C stops\)\n"
        match = re.fullmatch(address, first_line[0])
        assert match, first_line[0]
        port = int(match.group(1))
        assert port > 0
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
        connection.request("GET", "/race?landscape=himmelblau&lr=0.01&x=1.5&y=-0.5&steps=40")
        reply = connection.getresponse()
        assert reply.status == 200
        assert json.loads(reply.read()) == race_data("himmelblau", 0.01, start=(1.5, -0.5), steps=40)
        connection.close()
        process.send_signal(signal.SIGINT)  # Ctrl-C
        process.wait(timeout=WAIT)
        assert process.returncode == 0
        assert process.stderr.read() == ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
