"""Friendly messages where learners stumble: a missing optional piece names itself and its install
command in one line; optimizers, Values and learning rates explain the mistake they see."""

import subprocess
import sys

import graphviz
import numpy as np
import pytest

from tinygrad_opt import Value, nn, optim
from tinygrad_opt.cli import main
from tinygrad_opt.data import DEFAULT_SEED, make_blobs, make_circles, make_moons, make_spirals


def one_line(text):
    assert "Traceback" not in text and len(text.splitlines()) == 1, text
    return text


# ------------------------------------------------------------ missing pieces
def test_graph_without_the_graphviz_package(monkeypatch, capsys, tmp_path):
    loaded = [n for n in sys.modules if n.startswith(("graphviz", "tinygrad_opt.viz.graph"))]
    for name in loaded:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "graphviz", None)  # `import graphviz` now fails
    assert main(["graph", "--out", str(tmp_path / "g.svg")]) == 1
    error = one_line(capsys.readouterr().err)
    assert error == ("tinygrad-opt graph: drawing graphs needs the graphviz Python package, which is "
                     "missing: pip install graphviz (or pip install 'tinygrad-opt[viz]')\n")


def test_graph_without_the_dot_program(monkeypatch, capsys, tmp_path):
    def no_dot(*args, **kwargs):
        raise graphviz.ExecutableNotFound(["dot"])

    monkeypatch.setattr(graphviz.Digraph, "pipe", no_dot)
    assert main(["graph", "--out", str(tmp_path / "g.svg")]) == 1
    error = one_line(capsys.readouterr().err)
    assert "Graphviz's `dot` program is missing: install it with 'sudo apt-get install graphviz'" in error
    assert not (tmp_path / "g.svg").exists()


def test_plots_never_need_graphviz(tmp_path):
    script = ("import sys; sys.modules['graphviz'] = None\n"
              "from tinygrad_opt.viz import plot_losses, plot_landscape, backprop_page\n"
              "from tinygrad_opt.race import race, standard_racers\n"
              "result = race('bowl', standard_racers(0.1), steps=5)\n"
              "plot_landscape(result.landscape, result, path='race.png')\n"
              "plot_losses({'a': [1.0, 0.5]}, path='losses.png')\n"
              "try:\n    from tinygrad_opt.viz import draw_graph\n"
              "except ImportError as error:\n    print(error)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "race.png").exists() and (tmp_path / "losses.png").exists()
    assert done.stdout.startswith("drawing graphs needs the graphviz package: pip install graphviz")


def test_race_pictures_without_matplotlib(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["race", "--landscape", "bowl", "--steps", "3", "--out", str(tmp_path / "race.png")]) == 1
    error = one_line(capsys.readouterr().err)
    assert error == ("tinygrad-opt race: pictures need matplotlib, which is missing: pip install matplotlib "
                     "(or pip install 'tinygrad-opt[viz]')\n")


def test_each_plot_called_from_code_without_matplotlib_names_it_and_its_install(monkeypatch):
    from tinygrad_opt.race import landscapes, race, standard_racers
    from tinygrad_opt.viz import plot_attention, plot_decision_boundary, plot_landscape, plot_losses

    result = race("bowl", standard_racers(0.1), steps=3)
    model, X, y = nn.MLP(2, [3, 2], seed=0), np.zeros((4, 2)), np.array([0, 1, 0, 1])
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    for plot in (lambda: plot_losses({"SGD": [3.0, 2.0]}),
                 lambda: plot_decision_boundary(model, X, y),
                 lambda: plot_landscape(landscapes.get("bowl"), result),
                 lambda: plot_attention(np.eye(3))):
        message = r"^plotting needs matplotlib: pip install matplotlib"
        with pytest.raises(ImportError, match=message) as caught:
            plot()
        assert caught.value.name == "matplotlib"  # what the command line's one-line message reads


def test_gif_without_pillow(monkeypatch, capsys, tmp_path):
    import matplotlib.animation  # noqa: F401 (loaded while Pillow is still there)

    monkeypatch.setitem(sys.modules, "PIL", None)
    assert main(["race", "--landscape", "bowl", "--steps", "3", "--out", str(tmp_path / "race.gif")]) == 1
    error = one_line(capsys.readouterr().err)
    assert error == "tinygrad-opt race: writing a .gif needs Pillow, which is missing: pip install pillow\n"
    assert not (tmp_path / "race.gif").exists()


def test_demo_without_matplotlib_or_graphviz(monkeypatch, capsys, tmp_path):
    from tinygrad_opt import tour

    def needs(name):
        def run_tour(*args, **kwargs):
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)
        return run_tour

    monkeypatch.setattr(tour, "run_tour", needs("matplotlib"))
    assert main(["demo", "--quick", "--out", str(tmp_path)]) == 1
    assert one_line(capsys.readouterr().err).startswith("tinygrad-opt demo: plots need matplotlib, which is "
                                                        "missing: pip install matplotlib")
    monkeypatch.setattr(tour, "run_tour", needs("graphviz"))
    assert main(["demo", "--quick", "--out", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert "needs the graphviz Python package, which is missing: pip install graphviz" in error


# ---------------------------------------------------------- learners' mistakes
def test_an_optimizer_given_the_model_suggests_its_parameters():
    model = nn.MLP(2, [4, 1], seed=0)
    with pytest.raises(TypeError, match=r"^Adam needs the model's parameters, not the model \(MLP\): "
                                        r"write Adam\(model.parameters\(\), \.\.\.\)$"):
        optim.Adam(model)
    assert optim.Adam(model.parameters()).param_groups[0]["params"] == model.parameters()


def test_assigning_lr_changes_every_group():
    a, b = Value(1.0), Value(2.0)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.1}], lr=0.01)
    with pytest.raises(AttributeError, match="different learning rates: read opt.param_groups"):
        opt.lr  # noqa: B018 (reading is what is tested)
    opt.lr = 0.5
    assert opt.lrs == [0.5, 0.5] and opt.lr == 0.5
    a.grad, b.grad = 1.0, 1.0
    opt.step()
    assert (a.data, b.data) == (0.5, 1.5)  # both groups stepped with the new rate
    with pytest.raises(ValueError, match="Invalid learning rate"):
        opt.lr = -1.0
    assert opt.lr == 0.5


def test_a_numpy_function_on_a_value_suggests_the_value_method():
    v = Value(np.array([0.5, 1.0]))
    with pytest.raises(TypeError, match=r"^np.cos cannot follow a Value through its graph, .*value.cos\(\)"):
        np.cos(v)
    with pytest.raises(TypeError, match=r"write value.abs\(\)"):
        np.abs(v)
    with pytest.raises(TypeError, match=r"write it with Value operations"):
        np.maximum(v, 0.0)
    # Arithmetic with arrays still builds the graph, from either side.
    a = np.array([2.0, 3.0])
    out = (a * v + a - v / a).sum()
    out.backward()
    np.testing.assert_allclose(v.grad, a - 1 / a)
    assert (a == v) is False and (a != v) is True
    np.testing.assert_array_equal(a < v, v > a)  # comparisons go to the Value's reflected one
    np.testing.assert_array_equal(a >= v, v <= a)


def test_data_generators_are_reproducible_by_default():
    assert DEFAULT_SEED == 0
    for make in (make_moons, make_circles, make_spirals, make_blobs):
        first, again = make(), make()
        assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1]), make.__name__
        assert np.array_equal(first[0], make(seed=0)[0])
    noisy = make_moons(50, noise=0.1)
    assert not np.array_equal(noisy[0], make_moons(50, noise=0.1, seed=None)[0])  # None: fresh randomness
    assert "reproducible by default" in sys.modules["tinygrad_opt.data"].__doc__
