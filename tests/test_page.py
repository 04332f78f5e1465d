"""The race page: its embedded data, the server, and the page itself in a real headless Chromium."""

import base64
import io
import json
import re
import shutil
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest

from tinygrad_opt.race import landscapes, race, standard_racers
from tinygrad_opt.race.page import (
    PAGE_RACERS,
    POSITION_SCALE,
    build_page,
    learning_rates,
    parse_race_query,
    race_data,
)
from tinygrad_opt.race.serve import make_server

PAGE_LANDSCAPES = ["beale_like", "bowl"]
STAGE = 600  # the map's size in CSS pixels


@pytest.fixture(scope="module")
def page_text():
    return build_page(landscapes=PAGE_LANDSCAPES)


def embedded_data(text):
    match = re.search(r"const DATA = (\{.*?\});\n", text)
    assert match, "the page carries its data"
    return json.loads(match.group(1))


def decode(encoded, view):
    xmin, xmax, ymin, ymax = view
    q = np.frombuffer(base64.b64decode(encoded["p"]), dtype="<i2").reshape(-1, 2)
    points = q / POSITION_SCALE * [xmax - xmin, ymax - ymin] + [xmin, ymin]
    losses = np.frombuffer(base64.b64decode(encoded["l"]), dtype="<f4")
    return points, losses


def pixel(view, x, y):
    xmin, xmax, ymin, ymax = view
    return (x - xmin) / (xmax - xmin) * STAGE, STAGE - (y - ymin) / (ymax - ymin) * STAGE


# ------------------------------------------------------------- without a browser
def test_page_is_self_contained(page_text):
    assert page_text.startswith("<!DOCTYPE html>")
    # nothing fetched from a network
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page_text)
    assert "<link rel=\"stylesheet\"" not in page_text and "@import" not in page_text
    assert "</script>" not in page_text.split("<script>", 1)[1].rsplit("</script>", 1)[0]


def test_embedded_races_are_the_python_races(page_text):
    data = embedded_data(page_text)
    assert [entry["name"] for entry in data["landscapes"]] == PAGE_LANDSCAPES
    entry = data["landscapes"][0]
    landscape = landscapes.get(entry["name"])
    assert entry["minima"] == [list(m) for m in landscape.minima] and entry["view"] == list(landscape.view)
    for index in (0, entry["lr_index"], len(entry["lrs"]) - 1):
        lr = entry["lrs"][index]
        expected = race(landscape, standard_racers(dict.fromkeys(PAGE_RACERS, lr)), steps=data["steps"])
        assert list(expected) == data["racers"] == list(entry["races"][index])
        for name, trajectory in expected.items():
            points, losses = decode(entry["races"][index][name], landscape.view)
            assert entry["races"][index][name]["d"] == trajectory.diverged
            cell = (landscape.view[1] - landscape.view[0]) / POSITION_SCALE
            np.testing.assert_allclose(points, trajectory.points, atol=cell)  # rounded to the int16 grid
            np.testing.assert_allclose(losses, trajectory.losses.astype(np.float32), rtol=1e-6)


def test_learning_rates_are_a_log_ladder():
    lrs = learning_rates("ravine")
    ratios = np.diff(np.log10(lrs))
    np.testing.assert_allclose(ratios, 1 / 3, atol=0.01)
    assert 0.01 in lrs and lrs[0] == pytest.approx(0.0001) and lrs[-1] == pytest.approx(0.1)


def test_page_is_reasonably_small(page_text):
    per_landscape = len(page_text.encode()) / len(PAGE_LANDSCAPES)
    assert per_landscape < 160_000  # all eight landscapes stay near a megabyte


@pytest.mark.parametrize("query, message", [
    ({"landscape": "nowhere", "lr": "0.1", "x": "0", "y": "0"}, "unknown landscape"),
    ({"landscape": "bowl", "lr": "fast", "x": "0", "y": "0"}, "lr must be a number"),
    ({"landscape": "bowl", "lr": "-1", "x": "0", "y": "0"}, "lr must be positive"),
    ({"landscape": "bowl", "lr": "0.1", "x": "nan", "y": "0"}, "x must be finite"),
    ({"landscape": "bowl", "lr": "0.1", "y": "0"}, "missing parameter 'x'"),
    ({"landscape": "bowl", "lr": "0.1", "x": "0", "y": "0", "steps": "0"}, "steps"),
])
def test_bad_race_requests_name_the_parameter(query, message):
    with pytest.raises(ValueError, match=message):
        parse_race_query(query)


@pytest.fixture(scope="module")
def server():
    server = make_server(0, first="beale_like", landscapes=PAGE_LANDSCAPES)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_server_races_on_request(server):
    assert server.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(f"{server}/race?landscape=himmelblau&lr=0.01&x=1.5&y=-0.5&steps=40") as reply:
        body = json.load(reply)
    assert body == race_data("himmelblau", 0.01, start=(1.5, -0.5), steps=40)
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"{server}/race?landscape=himmelblau&lr=zero&x=0&y=0")
    assert error.value.code == 400 and "lr must be a number" in json.load(error.value)["error"]
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"{server}/elsewhere")
    assert error.value.code == 404
    with urllib.request.urlopen(f"{server}/") as reply:
        assert embedded_data(reply.read().decode())["server"] is True


# ---------------------------------------------------------------- in a browser
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed (pip install playwright)")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("no Chromium on this machine (`make browser` installs Debian's chromium)")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except Exception as error:  # a broken or stub Chromium: say why, do not fail the suite
            pytest.skip(f"Chromium at {executable} did not start: {error}")
        yield chromium
        chromium.close()


@pytest.fixture()
def open_page(browser):
    pages = []

    def open_(url):
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        page.errors = []
        page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(url)
        page.wait_for_selector("polyline.path")
        pages.append(page)
        return page

    yield open_
    for page in pages:
        page.close()


def paths(page):
    return page.eval_on_selector_all("polyline.path", "lines => lines.map(l => l.getAttribute('points'))")


def stage_point(page, selector):
    """Centre of an SVG element relative to the map, in map pixels."""
    stage = page.locator("#map").bounding_box()
    box = page.locator(selector).first.bounding_box()
    return box["x"] + box["width"] / 2 - stage["x"], box["y"] + box["height"] / 2 - stage["y"]


def test_static_page_loads_and_draws_the_race(tmp_path, page_text, open_page):
    file = tmp_path / "race.html"
    file.write_text(page_text, encoding="utf-8")
    page = open_page(file.as_uri())
    page.click("#end")
    assert page.locator("polyline.path").count() == len(PAGE_RACERS)
    assert page.locator("#table tr").count() == len(PAGE_RACERS)
    assert page.text_content("#step-count") == "step 200 / 200"
    # The star sits at the minimum (3, 0.5): its outer points are 11 px from the minimum's pixel.
    view = landscapes.get("beale_like").view
    points = page.get_attribute("polygon.star", "points").split()
    outer = np.array([[float(v) for v in p.split(",")] for p in points[::2]])
    np.testing.assert_allclose(outer.mean(axis=0), pixel(view, 3.0, 0.5), atol=0.05)
    sx, sy = stage_point(page, "polygon.star")
    assert abs(sx - pixel(view, 3.0, 0.5)[0]) < 1.5 and abs(sy - pixel(view, 3.0, 0.5)[1]) < 2.5
    assert page.errors == []


def test_slider_changes_the_drawn_paths(tmp_path, page_text, open_page):
    file = tmp_path / "race.html"
    file.write_text(page_text, encoding="utf-8")
    page = open_page(file.as_uri())
    page.click("#end")
    before, label = paths(page), page.text_content("#lr-value")
    page.focus("#lr")
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    after = paths(page)
    assert page.text_content("#lr-value") != label
    assert len(after) == len(PAGE_RACERS) and all(a != b for a, b in zip(after, before, strict=True))
    # Toggling a racer off removes its path; the step button advances one step.
    page.click("label.toggle:has-text('Adam')")
    assert page.locator("polyline.path[data-racer='Adam']").count() == 0
    page.click("#restart")
    page.click("#play")  # pause
    step = int(page.text_content("#step-count").split()[1])
    page.click("#step")
    assert page.text_content("#step-count") == f"step {step + 1} / 200"
    assert page.errors == []


def test_screenshot_is_not_blank(tmp_path, page_text, open_page):
    plt = pytest.importorskip("matplotlib.pyplot")
    file = tmp_path / "race.html"
    file.write_text(page_text, encoding="utf-8")
    page = open_page(file.as_uri())
    page.click("#end")
    image = plt.imread(io.BytesIO(page.locator("#map").screenshot()), format="png")[..., :3]
    assert all(abs(side - STAGE) <= 1 for side in image.shape[:2])  # +-1 for a fractional offset
    colours = np.unique((image * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 500 and image.std() > 0.05  # a contour map with paths, not a flat fill


def test_click_in_server_mode_races_from_there(server, open_page):
    page = open_page(f"{server}/")
    assert page.locator("#overlay.clickable").count() == 1
    page.click("#end")
    before = paths(page)
    view = landscapes.get("beale_like").view
    target = pixel(view, 2.0, 2.0)
    with page.expect_response(lambda response: "/race?" in response.url) as answer:
        page.click("#overlay", position={"x": target[0], "y": target[1]})
    reply = answer.value
    assert reply.ok
    query = dict(part.split("=") for part in reply.url.split("?", 1)[1].split("&"))
    start = (float(query["x"]), float(query["y"]))
    assert start == pytest.approx((2.0, 2.0), abs=0.02)
    assert reply.json() == race_data("beale_like", float(query["lr"]), start=start, steps=200)
    page.click("#end")
    after = paths(page)
    assert all(a != b for a, b in zip(after, before, strict=True))
    for line in after:  # every path now starts at the clicked point
        x0, y0 = (float(v) for v in line.split()[0].split(","))
        assert abs(x0 - target[0]) < 1 and abs(y0 - target[1]) < 1
    sx, sy = stage_point(page, "#start")
    assert abs(sx - target[0]) < 1.5 and abs(sy - target[1]) < 1.5
    assert page.errors == []


def test_any_learning_rate_in_server_mode_races_at_that_rate(server, open_page):
    page = open_page(f"{server}/")
    assert page.locator("#lr-exact").is_visible()
    page.click("#end")
    before = paths(page)
    lr = 0.0021  # between the slider's 0.001 and 0.00215: no embedded race has it
    with page.expect_response(lambda response: "/race?" in response.url) as answer:
        page.fill("#lr-exact", str(lr))
        page.press("#lr-exact", "Enter")
    reply = answer.value
    assert reply.ok
    query = dict(part.split("=") for part in reply.url.split("?", 1)[1].split("&"))
    assert query["landscape"] == "beale_like" and float(query["lr"]) == lr
    landscape = landscapes.get("beale_like")
    assert (float(query["x"]), float(query["y"])) == pytest.approx(landscape.start)
    assert reply.json() == race_data("beale_like", lr, start=landscape.start, steps=200)
    page.click("#end")
    after = paths(page)
    assert page.text_content("#lr-value") == "2.1e-3"  # rates below 0.01 are shown as 2.15e-3 ...
    assert len(after) == len(PAGE_RACERS) and all(a != b for a, b in zip(after, before, strict=True))
    # each drawn path ends where the Python race at that rate ends
    racers = standard_racers(dict.fromkeys(PAGE_RACERS, lr))
    for name, trajectory in race("beale_like", racers, steps=200).items():
        line = page.get_attribute(f"polyline.path[data-racer='{name}']", "points")
        end = [float(v) for v in line.split()[-1].split(",")]
        np.testing.assert_allclose(end, pixel(landscape.view, *trajectory.final_point), atol=1)
    assert page.errors == []
