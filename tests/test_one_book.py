"""One book: every chapter runs the same neuron, through the same discretisation.

The oracle of each test is another chapter: the training layers against the populations and the single units
(under the mapping ``discretisation.training_lif_params`` that ``training/layers.py`` documents), Diehl & Cook's
fused kernel against its network composed of ``ConductanceLIF`` units and ``stdp.py``'s pieces, each chapter's
step constants against ``spikingnn.discretisation``, and each documented update formula, evaluated here on random
values, against the code that claims to run it.
"""
import ast
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import spikingnn
from spikingnn.diehl_cook import DiehlCookNetwork, DiehlCookParams, TextbookPresentation, poisson_events
from spikingnn.discretisation import LIFStep, exact_decay, training_lif_params
from spikingnn.groups import ALIFGroup, LIFGroup, SynapseGroup
from spikingnn.kernels.diehl_cook import State, run_steps_kernel, run_steps_reference
from spikingnn.neurons import ALIF, FirstOrderLIF
from spikingnn.params import ALIFParams, LIFParams
from spikingnn.synapses import FirstOrderSynapse
from spikingnn.training import hyperparams
from spikingnn.training.layers import NeuronSpec, after_reset, neuron_forward

PACKAGE = Path(spikingnn.__file__).parent
DT = 1.0                                                   # ms, SNNClassifier's default


def _layer(current, beta, v_threshold, reset, rho, beta_adapt, backend):
    spec = NeuronSpec(reset=reset, rho=rho, beta_adapt=beta_adapt)
    _, cache = neuron_forward(current[:, None, :], beta, v_threshold, None, spec, backend)
    return cache


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("adaptive", [False, True])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8))
@settings(max_examples=25, deadline=None)
def test_training_layer_is_the_population_and_the_unit(backend, reset, adaptive, seed, n):
    """A training layer, a LIFGroup / ALIFGroup and single units, given ``training_lif_params``, produce the same
    spikes at every step, and the layer's membrane after its reset (u) is the population's membrane."""
    rng = np.random.default_rng(seed)
    beta, v_threshold = rng.uniform(0.3, 0.99, n), rng.uniform(0.5, 1.5, n)
    rho, beta_adapt = (float(rng.uniform(0.8, 0.99)), float(rng.uniform(0.0, 1.0))) if adaptive else (0.0, 0.0)
    current = v_threshold * rng.normal(0.4, 0.5, (60, n))         # a few steps to threshold, for every leak
    cache = _layer(current, beta, v_threshold, reset, rho, beta_adapt, backend)

    params = training_lif_params(beta, v_threshold, DT, reset, rho if adaptive else None, beta_adapt)
    fields = {f: getattr(params, f) for f in params.__dataclass_fields__}
    group = (ALIFGroup if adaptive else LIFGroup)(n, dt=DT, **fields)
    units = [(ALIF if adaptive else FirstOrderLIF)(dt=DT, **{k: v if np.ndim(v) == 0 else float(v[i])
                                                             for k, v in fields.items()}) for i in range(n)]
    u = after_reset(cache)
    for t in range(current.shape[0]):
        group.step(current[t])
        unit_spikes = [unit.step(float(c)) for unit, c in zip(units, current[t])]
        np.testing.assert_array_equal(group.spikes, cache.s[t, 0] > 0, err_msg=f"spikes of step {t}")
        np.testing.assert_array_equal(unit_spikes, cache.s[t, 0] > 0, err_msg=f"unit spikes of step {t}")
        np.testing.assert_allclose(group.v, u[t, 0], rtol=1e-9, atol=1e-9, err_msg=f"membrane after step {t}")
        np.testing.assert_allclose([unit.v for unit in units], u[t, 0], rtol=1e-9, atol=1e-9)
        if adaptive:                        # the threshold of step t: the same adaptive threshold in both
            np.testing.assert_allclose(group.threshold - beta_adapt * group.spikes, cache.thr[t, 0], rtol=1e-9)
    assert cache.s.any() and not cache.s.all(), "the case should make some spikes, not only spikes"


def test_training_mapping_gives_unit_input_gain():
    """Under the mapping, the unit's constants are the layer's: decay beta, input gain 1, no rest drive."""
    beta = np.array([0.5, 0.9, 0.99])
    step = LIFStep.from_params(training_lif_params(beta, 1.0, DT), DT)
    np.testing.assert_allclose(step.decay, beta, rtol=1e-14)
    np.testing.assert_allclose(step.input_gain, 1.0, rtol=1e-12)
    np.testing.assert_array_equal(step.rest_drive, 0.0)
    assert int(step.refractory_steps.max()) == 0


# ------------------------------------------------------------------------- one discretisation, every chapter
def test_every_chapter_takes_its_constants_from_the_discretisation():
    dt, tau_mem, tau_syn, tau_adapt = 0.25, 12.0, 3.0, 150.0
    params = ALIFParams(tau_mem=tau_mem, v_rest=0.1, resistance=2.0, refractory=1.0, tau_adapt=tau_adapt)
    fields = {f: getattr(params, f) for f in params.__dataclass_fields__}
    for integrator in ("exact", "euler"):
        expected = LIFStep.from_params(params, dt, integrator)
        unit = ALIF(dt=dt, integrator=integrator, **fields)
        group = ALIFGroup(3, dt=dt, integrator=integrator, **fields)
        for name, value in vars(expected).items():
            assert getattr(unit.constants, name) == value, name
            np.testing.assert_array_equal(getattr(group._params, name), value, err_msg=name)
    post = LIFGroup(2, dt=dt)
    assert SynapseGroup.all_to_all(LIFGroup(2, dt=dt), post, tau_syn=tau_syn).alpha \
        == exact_decay(dt, tau_syn)
    assert FirstOrderSynapse(tau_syn=tau_syn, dt=dt).alpha == exact_decay(dt, tau_syn)
    hyper = dict(dt=dt, tau_mem=tau_mem, beta=None, tau_adapt=tau_adapt)
    assert hyperparams.leak(hyper) == exact_decay(dt, tau_mem)


def _exp_of_dt_calls(path: Path):
    """Calls exp(...) whose argument mentions a name or attribute ``dt`` (a decay written out by hand)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "exp":
            names = {getattr(n, "id", getattr(n, "attr", None)) for n in ast.walk(node.args[0])} if node.args else set()
            if "dt" in names:
                yield node.lineno


def test_decays_are_written_once():
    """exp(-dt / tau) is computed in spikingnn/discretisation.py only; every other module asks it."""
    found = [f"{path.relative_to(PACKAGE)}:{line}" for path in sorted(PACKAGE.rglob("*.py"))
             if path.name != "discretisation.py" for line in _exp_of_dt_calls(path)]
    assert found == [], f"decays written out by hand instead of spikingnn.discretisation: {found}"


def test_the_decay_detector_finds_a_decay_written_out(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("import numpy as np\ndef f(dt, tau):\n    return np.exp(-self.dt / tau)\n")
    assert list(_exp_of_dt_calls(source)) == [3]


# ------------------------------------------------------------------------------ documented formulas, evaluated
@given(seed=st.integers(0, 2**32 - 1))
def test_lif_step_is_its_documented_formula(seed):
    """neurons.py: v <- decay v + (1 - decay) v_rest + (1 - decay) R I, decay = exp(-dt / tau_mem) (exact) or
    1 - dt / tau_mem (Euler); spike when v > threshold; 'subtract' v <- v - (threshold - v_reset)."""
    rng = np.random.default_rng(seed)
    tau_mem, dt, v_rest, resistance = rng.uniform(2, 50), rng.uniform(0.05, 1.0), rng.uniform(-0.5, 0.5), \
        rng.uniform(0.2, 3.0)
    v0, current, v_reset = rng.uniform(-1, 1), rng.uniform(-1, 3), rng.uniform(-1.0, 0.0)
    for integrator, decay in (("exact", math.exp(-dt / tau_mem)), ("euler", 1.0 - dt / tau_mem)):
        for reset in ("zero", "subtract"):
            neuron = FirstOrderLIF(tau_mem=tau_mem, dt=dt, v_rest=v_rest, resistance=resistance, v_reset=v_reset,
                                   integrator=integrator, reset=reset)
            neuron.v = v0
            spiked = neuron.step(current)
            v = decay * v0 + (1 - decay) * v_rest + (1 - decay) * resistance * current
            assert spiked == (v > 1.0)
            if spiked:
                v = v_reset if reset == "zero" else v - (1.0 - v_reset)
            assert neuron.v == pytest.approx(v, rel=1e-12, abs=1e-12)


def test_training_neuron_is_its_documented_formula():
    """training/layers.py: v[t] = beta u[t-1] + I[t], s[t] = v[t] > thr, u = v - thr s ('subtract') or
    v (1 - s) ('zero'), evaluated by hand for one neuron."""
    rng = np.random.default_rng(1)
    current, beta, thr = rng.normal(0.4, 0.6, 40), 0.8, 1.0
    for reset in ("subtract", "zero"):
        cache = _layer(current[:, None], np.array([beta]), np.array([thr]), reset, 0.0, 0.0, "numpy")
        u, expected_v, expected_s = 0.0, [], []
        for i in current:
            v = beta * u + i
            s = v > thr
            u = (v - thr * s) if reset == "subtract" else v * (1 - s)
            expected_v.append(v)
            expected_s.append(s)
        np.testing.assert_allclose(cache.v[:, 0, 0], expected_v, rtol=1e-12)
        np.testing.assert_array_equal(cache.s[:, 0, 0], expected_s)
        assert any(expected_s)


def test_reset_subtract_has_one_meaning():
    """params.RESET_MODES: 'subtract' is v <- v - (threshold - v_reset) in the unit and the population, and the
    refractory period holds v at that value (it does not fall back to v_reset)."""
    kwargs = dict(tau_mem=10.0, v_reset=-0.3, refractory=0.3, reset="subtract", dt=0.1)
    unit, group = FirstOrderLIF(**kwargs), LIFGroup(1, **kwargs)
    unit.v = group.v = 0.95
    drive = 10.0                             # one step from 0.95 lands above 1
    assert unit.step(drive) and group.step(drive)[0]
    v_step = math.exp(-0.01) * 0.95 + (1 - math.exp(-0.01)) * drive
    assert unit.v == pytest.approx(v_step - (1.0 + 0.3)) == group.v[0]
    for _ in range(3):                                     # refractory: 3 steps held
        assert not unit.step(drive) and not group.step(drive)[0]
        assert unit.v == pytest.approx(v_step - 1.3) == group.v[0]


def test_a_lif_params_record_validates_the_reset():
    with pytest.raises(ValueError, match="reset"):
        LIFParams(reset="subtractive")


# ---------------------------------------------------------------------------- the same words, README and code
def _readme_neuron_column():
    """{module path: 'the neuron here' cell} from the README's chapter table (the first module of each row: the
    chapter the row is about)."""
    table, readme = {}, (PACKAGE.parent / "README.md").read_text()
    for line in readme.split("## The chapters")[1].split("\n## ")[0].splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 3 and cells[2] and cells[0].startswith("`"):
            table[cells[0].replace("`", "").split(", ")[0]] = cells[2]
    return table


def test_readme_and_each_chapter_name_the_same_neuron():
    """Each chapter's docstring says 'The neuron here: ...' in the words of the README's chapter table."""
    table = _readme_neuron_column()
    assert {"neurons.py", "groups.py", "training/", "diehl_cook.py", "stdp.py"} <= set(table)
    for module, words in table.items():
        path = PACKAGE / module / "layers.py" if module.endswith("/") else PACKAGE / module
        docstring = ast.get_docstring(ast.parse(path.read_text()))
        assert f"The neuron here: {words}." in " ".join(docstring.split()), module


# ------------------------------------------------ Diehl & Cook: the fused kernel is the book's pieces, composed

N_INPUT, N_NEURONS = 100, 12          # 10x10 images, a small network
PARAMS = DiehlCookParams(presentation=120.0, rest=60.0, max_rate=127.5, rate_boost=63.75,
                         weight_sum=78.0 * N_INPUT / 784, nu_pre=4e-3, nu_post=0.2)   # short, fast-learning


def bar_images(rng, n_images, size=10):
    """Bright bars (rows or columns) of random position and brightness: digits of a sort (uint8 pixels)."""
    images = np.zeros((n_images, size, size), dtype=np.uint8)
    for image in images:
        k = rng.integers(0, size - 2)
        bar = (slice(k, k + 2), slice(None)) if rng.random() < 0.5 else (slice(None), slice(k, k + 2))
        image[bar] = rng.integers(150, 256, size=image[bar].shape)
    return images


def assert_states_close(a, b, err_msg=""):
    """Same state to float tolerance (the units' Python floats against the kernel's arithmetic, and the rest
    stepped through against its closed form, which drops conductances below g_negligible = 1e-12)."""
    for name in State._fields:
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-9, atol=1e-9,
                                   err_msg=f"{name} {err_msg}")


@pytest.mark.parametrize("learn", [True, False])
def test_fused_kernel_and_reference_equal_the_network_of_textbook_pieces(learn):
    """Same seed, same images, three backends: the same E spikes at every presentation, the same weights, thresholds,
    membranes, conductances and traces afterwards. The textbook network steps ConductanceLIF units one by one and
    learns with stdp.py's Trace, depress, potentiate and normalize_columns."""
    images = bar_images(np.random.default_rng(0), 4)
    networks = {backend: DiehlCookNetwork(N_NEURONS, N_INPUT, PARAMS, seed=3, backend=backend)
                for backend in ("numba", "numpy", "textbook")}
    initial = networks["numba"].weights.copy()
    total = 0
    for k, image in enumerate(images):
        counts = {backend: net.present(image, learn) for backend, net in networks.items()}
        np.testing.assert_array_equal(counts["numba"], counts["textbook"], err_msg=f"image {k}")
        np.testing.assert_array_equal(counts["numpy"], counts["textbook"], err_msg=f"image {k}")
        total += counts["numba"].sum()
    for backend in ("numba", "numpy"):
        assert_states_close(networks[backend].state, networks["textbook"].state, err_msg=backend)
    assert total >= 4 * PARAMS.min_spikes
    if learn:   # learning happened: beyond what normalisation alone does, weights moved and thresholds rose
        normalised = initial * (PARAMS.weight_sum / initial.sum(axis=0))
        assert np.abs(networks["textbook"].weights - normalised).max() > 0.05
        assert networks["textbook"].theta.max() > PARAMS.theta_init + PARAMS.theta_plus / 2


def test_kernel_equals_textbook_step_by_step_under_heavy_input():
    """Dense input events for 240 steps (membranes near threshold, many E and I spikes, learning on): after every
    step the kernel, the reference and the textbook composition hold the same spikes and the same state."""
    rng = np.random.default_rng(2)
    net = DiehlCookNetwork(N_NEURONS, N_INPUT, PARAMS, seed=3)
    event_ptr, event_inputs = poisson_events(rng.uniform(0, 300, N_INPUT), 240, PARAMS.dt, rng)
    constants = PARAMS.constants()
    kernel, reference, book_state = (State(*(a.copy() for a in net.state)) for _ in range(3))
    book = TextbookPresentation(PARAMS, book_state, learn=True)
    n_spikes = 0
    for t in range(240):
        inputs = event_inputs[event_ptr[t]:event_ptr[t + 1]]
        ptr = np.array([0, inputs.size])
        counts_kernel, counts_reference = np.zeros(N_NEURONS, np.int64), np.zeros(N_NEURONS, np.int64)
        run_steps_kernel(kernel, constants, ptr, inputs, True, counts_kernel)
        run_steps_reference(reference, constants, ptr, inputs, True, counts_reference)
        fired = book.step(inputs)
        book.store()
        np.testing.assert_array_equal(counts_kernel, fired, err_msg=f"step {t}")
        np.testing.assert_array_equal(counts_reference, fired, err_msg=f"step {t}")
        assert_states_close(kernel, book_state, err_msg=f"kernel, step {t}")
        assert_states_close(reference, book_state, err_msg=f"reference, step {t}")
        n_spikes += fired.sum()
    assert n_spikes > 10 and np.any(book_state.gi_e > 0)


def test_the_network_is_made_of_the_units():
    """The kernel's constants are the units' step constants, and the E threshold is v_threshold_e - theta_offset
    + theta, with theta starting at theta_init."""
    constants, exc, inh = PARAMS.constants(), PARAMS.excitatory_neuron(), PARAMS.inhibitory_neuron()
    assert (constants.decay_ge, constants.mean_ge, constants.decay_gi, constants.mean_gi) == (
        exc.decay_ge, exc.mean_ge, inh.decay_gi, inh.mean_gi)
    assert (constants.refractory_steps_e, constants.refractory_steps_i) == (10, 4)
    assert exc.params.v_threshold + exc.theta == PARAMS.v_threshold_e - PARAMS.theta_offset + PARAMS.theta_init
    frozen = PARAMS.excitatory_neuron(learn=False)
    assert frozen.params.theta_plus == 0.0 and frozen.decay_theta == 1.0
    assert constants.decay_theta == pytest.approx(math.exp(-PARAMS.dt / PARAMS.tau_theta), rel=1e-15)
