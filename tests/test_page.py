"""The race page: its embedded data, the server, and the page itself in a real headless Chromium."""

import base64
import io
import json
import re
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest

from tinygrad_opt.race import ALL_RACERS, RACER_NAMES, landscapes, race, standard_racers, suggested_lr
from tinygrad_opt.race.page import (
    LR_SPAN,
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
    assert data["racers"] == list(ALL_RACERS) and data["on"] == list(RACER_NAMES)
    entry = data["landscapes"][0]
    landscape = landscapes.get(entry["name"])
    assert entry["minima"] == [list(m) for m in landscape.minima] and entry["view"] == list(landscape.view)
    cell = (landscape.view[1] - landscape.view[0]) / POSITION_SCALE
    for name in data["racers"]:  # each racer on a ladder of its own, centred on its suggested rate
        assert entry["lrs"][name][entry["lr_index"]] == suggested_lr(name, landscape)
        for index in (0, entry["lr_index"], len(entry["lrs"][name]) - 1):
            lr = entry["lrs"][name][index]
            trajectory = race(landscape, standard_racers({name: lr}), steps=data["steps"])[name]
            encoded = entry["races"][name][index]
            points, losses = decode(encoded, landscape.view)
            assert encoded["d"] == trajectory.diverged
            np.testing.assert_allclose(points, trajectory.points, atol=cell)  # rounded to the int16 grid
            np.testing.assert_allclose(losses, trajectory.losses.astype(np.float32), rtol=1e-6)


def test_learning_rates_are_a_log_ladder_around_the_rate_asked_for():
    lrs = learning_rates(0.0123)
    ratios = np.diff(np.log10(lrs))
    np.testing.assert_allclose(ratios, 1 / 2, atol=0.01)
    assert lrs[LR_SPAN] == 0.0123 and len(lrs) == 2 * LR_SPAN + 1
    assert lrs[0] == pytest.approx(0.0123 / 10**1.5, rel=0.01)
    assert lrs[-1] == pytest.approx(0.0123 * 10**1.5, rel=0.01)


def test_the_command_line_settings_reach_the_page():
    text = build_page(landscapes=["ravine"], steps=30, start=(2.0, -7.0), clip_value=5.0,
                      rates={"adam": 0.3, "Lion": 0.02})
    data = embedded_data(text)
    entry = data["landscapes"][0]
    assert data["on"] == ["Adam", "Lion"] and data["steps"] == 30 and data["clip"] == 5.0
    assert entry["start"] == [2.0, -7.0] and entry["lrs"]["Adam"][LR_SPAN] == 0.3
    adam = standard_racers({"Adam": 0.3})
    expected = race("ravine", adam, start=(2.0, -7.0), steps=30, clip_value=5.0)["Adam"]
    points, _ = decode(entry["races"]["Adam"][LR_SPAN], entry["view"])
    assert len(points) == 31
    np.testing.assert_allclose(points, expected.points, atol=18 / POSITION_SCALE)  # the view is 18 high
    unclipped = race("ravine", standard_racers({"Adam": 0.3}), start=(2.0, -7.0), steps=30)["Adam"]
    assert not np.allclose(expected.points, unclipped.points)  # the clip made a difference the page shows
    with pytest.raises(ValueError, match="LAMB cannot race"):
        build_page(landscapes=["ravine"], rates={"LAMB": 0.1})


def test_page_is_reasonably_small(page_text):
    # 14 racers x 7 learning rates x 201 steps x (4 bytes of position + 4 of loss), base64: about
    # 230 kB a landscape, 1.8 MB for all eight.
    per_landscape = len(page_text.encode()) / len(PAGE_LANDSCAPES)
    assert per_landscape < 260_000


@pytest.mark.parametrize("query, message", [
    ({"landscape": "nowhere", "lr": "0.1", "x": "0", "y": "0"}, "unknown landscape"),
    ({"landscape": "bowl", "lr": "fast", "x": "0", "y": "0"}, "lr must be a number"),
    ({"landscape": "bowl", "lr": "-1", "x": "0", "y": "0"}, "lr must be positive"),
    ({"landscape": "bowl", "lr": "0.1", "x": "nan", "y": "0"}, "x must be finite"),
    ({"landscape": "bowl", "lr": "0.1", "y": "0"}, "missing parameter 'x'"),
    ({"landscape": "bowl", "lr": "0.1", "x": "0", "y": "0", "steps": "0"}, "steps"),
    ({"landscape": "bowl", "lr.Adam": "0", "x": "0", "y": "0"}, "lr.Adam must be positive"),
    ({"landscape": "bowl", "lr.Muon": "0.1", "x": "0", "y": "0"}, "Muon cannot race"),
    ({"landscape": "bowl", "lr": "0.1", "x": "0", "y": "0", "clip": "-1"}, "clip must be positive"),
    ({"landscape": "bowl", "x": "0", "y": "0"}, "missing parameter 'lr'"),
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
    query = "landscape=bowl&x=1&y=2&steps=20&clip=0.5&lr.Adam=0.1&lr.Lion=0.01"
    with urllib.request.urlopen(f"{server}/race?{query}") as reply:
        body = json.load(reply)
    assert body == race_data("bowl", {"Adam": 0.1, "Lion": 0.01}, start=(1, 2), steps=20, clip_value=0.5)


# ---------------------------------------------------------------- in a browser
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


def path_by_racer(page):
    script = "lines => Object.fromEntries(lines.map(l => [l.dataset.racer, l.getAttribute('points')]))"
    return page.eval_on_selector_all("polyline.path", script)


def test_static_page_loads_and_draws_the_race(tmp_path, page_text, open_page):
    file = tmp_path / "race.html"
    file.write_text(page_text, encoding="utf-8")
    page = open_page(file.as_uri())
    page.click("#end")
    assert page.locator("polyline.path").count() == len(RACER_NAMES)  # the post's four start on
    assert page.locator("#table tr").count() == len(RACER_NAMES)
    assert page.text_content("#step-count") == "step 200 / 200"
    for name in PAGE_RACERS:  # every racer has a switch and a learning-rate control of its own
        assert page.get_by_label(f"{name} learning rate (lr)", exact=True).count() == 1
    # The star sits at the minimum (3, 0.5): its outer points are 11 px from the minimum's pixel.
    view = landscapes.get("beale_like").view
    points = page.get_attribute("polygon.star", "points").split()
    outer = np.array([[float(v) for v in p.split(",")] for p in points[::2]])
    np.testing.assert_allclose(outer.mean(axis=0), pixel(view, 3.0, 0.5), atol=0.05)
    sx, sy = stage_point(page, "polygon.star")
    assert abs(sx - pixel(view, 3.0, 0.5)[0]) < 1.5 and abs(sy - pixel(view, 3.0, 0.5)[1]) < 2.5
    assert page.errors == []


def test_each_learning_rate_changes_only_its_racer(tmp_path, page_text, open_page):
    file = tmp_path / "race.html"
    file.write_text(page_text, encoding="utf-8")
    page = open_page(file.as_uri())
    page.click("#end")
    data = embedded_data(page_text)["landscapes"][0]
    view = data["view"]
    for name in ("Adam", "SGD"):
        before, label = path_by_racer(page), page.text_content(f".racer[data-racer='{name}'] .lr-value")
        page.get_by_label(f"{name} learning rate (lr)", exact=True).focus()
        page.keyboard.press("ArrowLeft")
        after = path_by_racer(page)
        assert page.text_content(f".racer[data-racer='{name}'] .lr-value") != label
        assert set(after) == set(RACER_NAMES)
        assert [racer for racer in after if after[racer] != before[racer]] == [name]
        # the drawn path ends where the Python race at the rung below ends
        lr = data["lrs"][name][data["lr_index"] - 1]
        trajectory = race("beale_like", standard_racers({name: lr}), steps=200)[name]
        end = [float(v) for v in after[name].split()[-1].split(",")]
        np.testing.assert_allclose(end, pixel(view, *trajectory.final_point), atol=1)
    # Switching a racer on adds its path, switching one off removes it; Step advances one step.
    page.click(".racer[data-racer='Lion'] label.toggle")
    page.click(".racer[data-racer='Adam'] label.toggle")
    assert set(path_by_racer(page)) == {"SGD", "Momentum", "RMSProp", "Lion"}
    page.click("#restart")
    page.click("#play")  # pause
    step = int(page.text_content("#step-count").split()[1])
    page.click("#step")
    assert page.text_content("#step-count") == f"step {step + 1} / 200"
    assert page.errors == []


@pytest.mark.parametrize("width, height", [(1024, 768), (375, 667)])
def test_the_page_fits_a_projector_and_a_phone(tmp_path, page_text, browser, width, height):
    file = tmp_path / "race.html"
    file.write_text(page_text, encoding="utf-8")
    page = browser.new_page(viewport={"width": width, "height": height})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(file.as_uri())
    page.wait_for_selector("polyline.path")
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
    stage = page.locator("#stage").bounding_box()
    assert stage["x"] >= 0 and stage["x"] + stage["width"] <= width and stage["width"] > 0.8 * min(width, 602)
    for name in PAGE_RACERS:  # every control is on the screen, none cut off at the right
        box = page.get_by_label(f"{name} learning rate (lr)", exact=True).bounding_box()
        assert box["width"] >= 40 and box["x"] + box["width"] <= width
    page.close()
    assert errors == []


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


def request_rates(url):
    query = dict(part.split("=") for part in url.split("?", 1)[1].split("&"))
    rates = {key[3:]: float(value) for key, value in query.items() if key.startswith("lr.")}
    return query, {name.replace("%2D", "-"): rate for name, rate in rates.items()}


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
    query, rates = request_rates(reply.url)
    assert set(rates) == set(PAGE_RACERS)
    start = (float(query["x"]), float(query["y"]))
    assert start == pytest.approx((2.0, 2.0), abs=0.02)
    assert reply.json() == race_data("beale_like", rates, start=start, steps=200)
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
    exact = page.get_by_label("Adam exact learning rate (lr)", exact=True)
    assert exact.is_visible()
    page.click("#end")
    before = path_by_racer(page)
    lr = 0.0217  # no embedded race has it
    with page.expect_response(lambda response: "/race?" in response.url) as answer:
        exact.fill(str(lr))
        exact.press("Enter")
    reply = answer.value
    assert reply.ok
    query, rates = request_rates(reply.url)
    assert query["landscape"] == "beale_like" and rates["Adam"] == lr
    landscape = landscapes.get("beale_like")
    assert (float(query["x"]), float(query["y"])) == pytest.approx(landscape.start)
    assert reply.json() == race_data("beale_like", rates, start=landscape.start, steps=200)
    page.click("#end")
    after = path_by_racer(page)
    assert [name for name in after if after[name] != before[name]] == ["Adam"]
    trajectory = race("beale_like", standard_racers({"Adam": lr}), steps=200)["Adam"]
    end = [float(v) for v in after["Adam"].split()[-1].split(",")]
    np.testing.assert_allclose(end, pixel(landscape.view, *trajectory.final_point), atol=1)
    assert page.errors == []
