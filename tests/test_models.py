"""Baseline models: shapes on odd grids, periodic longitude, lead-time conditioning,
gradients, and the closed-form fitters against numpy oracles."""

import numpy as np
import pytest
import torch

from climbench.errors import ClimbenchError
from climbench.models import (
    CNNLSTM,
    MODELS,
    ClimaX,
    LeadTimeEmbedding,
    Ridge,
    UNet,
    build_model,
)

GRIDS = [(32, 64), (19, 36), (33, 49)]
LEADS = torch.tensor([6.0, 24.0])


def small_unet(**kwargs) -> UNet:
    torch.manual_seed(0)
    return UNet(3, 2, base_channels=8, **kwargs)


def small_climax(img_size=(32, 64), **kwargs) -> ClimaX:
    torch.manual_seed(0)
    return ClimaX(3, 2, img_size, embed_dim=32, depth=2, num_heads=4, **kwargs)


def assert_every_parameter_learns(model: torch.nn.Module, *inputs) -> None:
    model(*inputs).square().mean().backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert parameter.grad.abs().sum() > 0, name


# Networks: shapes


@pytest.mark.parametrize("grid", GRIDS)
def test_output_shapes_on_odd_grids(grid):
    x = torch.randn(2, 3, *grid)
    assert small_unet()(x, LEADS).shape == (2, 2, *grid)
    assert small_climax(grid)(x, LEADS).shape == (2, 2, *grid)
    assert CNNLSTM(3, 2, grid)(torch.randn(2, 4, 3, *grid)).shape == (2, 2, *grid)


def test_unet_without_lead_time_and_tiny_grid_error():
    x = torch.randn(1, 3, 19, 36)
    assert small_unet(lead_time=False)(x).shape == (1, 2, 19, 36)
    with pytest.raises(ClimbenchError, match="narrower"):
        small_unet(depth=3)(torch.randn(1, 3, 8, 3), LEADS[:1])


def test_build_model_registry():
    assert set(MODELS) == {"unet", "climax", "cnn_lstm"}
    model = build_model("unet", in_channels=3, out_channels=2, base_channels=8, depth=2)
    assert isinstance(model, UNet)
    with pytest.raises(
        ClimbenchError, match=r"unknown model 'resnet'.*'climax', 'cnn_lstm', 'unet'"
    ):
        build_model("resnet")


# Networks: periodic longitude


def test_unet_is_equivariant_to_longitude_rolls():
    x = torch.randn(2, 3, 32, 64)
    periodic = small_unet(depth=3).eval()
    shift = 2**3
    with torch.no_grad():
        rolled_output = periodic(x, LEADS).roll(shift, dims=-1)
        torch.testing.assert_close(
            periodic(x.roll(shift, dims=-1), LEADS), rolled_output, atol=1e-5, rtol=0
        )
        # The same weights padding by replication see an edge at 0 degrees: a seam.
        regional = small_unet(depth=3, periodic_lon=False).eval()
        regional.load_state_dict(periodic.state_dict())
        seam = regional(x.roll(shift, dims=-1), LEADS) - regional(x, LEADS).roll(shift, dims=-1)
    assert seam.abs().max() > 1e-3


# Networks: lead-time conditioning


def test_lead_time_embedding_separates_leads():
    torch.manual_seed(0)
    embedding = LeadTimeEmbedding(16)
    out = embedding(torch.tensor([0.0, 1.0, 6.0, 6.0, 240.0, 720.0]))
    assert out.shape == (6, 16)
    torch.testing.assert_close(out[2], out[3])
    distinct = [0, 1, 2, 4, 5]
    gaps = torch.cdist(out[distinct], out[distinct]) + torch.eye(len(distinct))
    assert gaps.min() > 1e-4
    with pytest.raises(ClimbenchError, match="shape"):
        embedding(torch.zeros(2, 1))


@pytest.mark.parametrize("make", [small_unet, small_climax])
def test_networks_depend_on_lead_time_and_require_it(make):
    model = make().eval()
    x = torch.randn(1, 3, 32, 64).expand(2, -1, -1, -1)
    with torch.no_grad():
        same = model(x, torch.tensor([24.0, 24.0]))
        different = model(x, torch.tensor([6.0, 120.0]))
    torch.testing.assert_close(same[0], same[1])
    assert (different[0] - different[1]).abs().max() > 1e-4
    with pytest.raises(ClimbenchError, match="lead_hours"):
        model(x)
    with pytest.raises(ClimbenchError, match=r"lead_hours must have shape \(2,\)"):
        model(x, torch.tensor([6.0]))


def test_networks_reject_wrong_input_shapes():
    with pytest.raises(ClimbenchError, match=r"expected input \(batch, 3, lat, lon\)"):
        small_unet()(torch.randn(2, 4, 32, 64), LEADS)
    with pytest.raises(ClimbenchError, match=r"expected input \(batch, 3, 32, 64\)"):
        small_climax()(torch.randn(2, 3, 32, 60), LEADS)
    with pytest.raises(ClimbenchError, match=r"expected input \(batch, years, 3, 19, 36\)"):
        CNNLSTM(3, 2, (19, 36))(torch.randn(2, 3, 19, 36))
    with pytest.raises(ClimbenchError, match="multiple of 4"):
        ClimaX(3, 2, (32, 64), embed_dim=30, num_heads=3)


# Networks: gradients


def test_gradients_reach_every_parameter():
    x = torch.randn(2, 3, 19, 36)
    assert_every_parameter_learns(small_unet(depth=2), x, LEADS)
    assert_every_parameter_learns(small_climax((19, 36)), x, LEADS)
    torch.manual_seed(0)
    assert_every_parameter_learns(CNNLSTM(3, 2, (19, 36)), torch.randn(2, 4, 3, 19, 36))


def test_cnn_lstm_uses_every_year():
    torch.manual_seed(0)
    model = CNNLSTM(3, 2, (19, 36))
    x = torch.randn(2, 4, 3, 19, 36, requires_grad=True)
    model(x).sum().backward()
    per_year = x.grad.abs().sum(dim=(0, 2, 3, 4))
    assert (per_year > 0).all()


# ClimaX: several leads in one batch


def test_climax_serves_several_leads_and_follows_batch_order():
    model = small_climax().eval()
    x = torch.randn(4, 3, 32, 64)
    leads = torch.tensor([6.0, 24.0, 72.0, 240.0])
    order = torch.tensor([2, 0, 3, 1])
    with torch.no_grad():
        out = model(x, leads)
        permuted = model(x[order], leads[order])
        alone = model(x[1:2], leads[1:2])
    assert out.shape == (4, 2, 32, 64)
    torch.testing.assert_close(permuted, out[order], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(alone, out[1:2], atol=1e-5, rtol=1e-5)


# Ridge


def ridge_oracle(X: np.ndarray, Y: np.ndarray, alpha: float, standardize: bool):
    """Coefficients and intercept from the augmented normal equations (numpy)."""
    mean, scale = X.mean(0), X.std(0) if standardize else np.ones(X.shape[1])
    Z = (X - mean) / scale if standardize else X
    A = np.hstack([Z, np.ones((len(Z), 1))])
    penalty = np.diag(np.r_[np.ones(Z.shape[1]), 0.0]) * alpha
    beta = np.linalg.solve(A.T @ A + penalty, A.T @ Y)
    coef = beta[:-1] / scale[:, None]
    intercept = beta[-1] - (mean @ coef if standardize else 0.0)
    return coef, intercept


@pytest.mark.parametrize("n, p", [(60, 8), (20, 150)], ids=["primal", "dual"])
@pytest.mark.parametrize("standardize", [False, True])
def test_ridge_matches_numpy_closed_form(n, p, standardize):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, p)) * rng.uniform(0.5, 5, size=p) + rng.normal(size=p)
    Y = X @ rng.normal(size=(p, 3)) + rng.normal(size=(n, 3)) + 2.0
    coef, intercept = ridge_oracle(X, Y, 3.0, standardize)
    model = Ridge(alpha=3.0, standardize=standardize).fit(torch.tensor(X), torch.tensor(Y))
    np.testing.assert_allclose(model.coef.numpy(), coef, atol=1e-6, rtol=1e-6)
    np.testing.assert_allclose(model.intercept.numpy(), intercept, atol=1e-6, rtol=1e-6)
    prediction = model.predict(torch.tensor(X, dtype=torch.float32))
    assert prediction.dtype == torch.float32
    np.testing.assert_allclose(prediction.numpy(), X @ coef + intercept, rtol=1e-5, atol=1e-4)


def test_ridge_with_vanishing_alpha_recovers_linear_data():
    rng = np.random.default_rng(1)
    X = torch.tensor(rng.normal(size=(50, 5)))
    truth = torch.tensor(rng.normal(size=(5, 2)))
    Y = X @ truth + torch.tensor([1.5, -3.0], dtype=torch.float64)
    model = Ridge(alpha=1e-10).fit(X, Y)
    torch.testing.assert_close(model.coef, truth, atol=1e-6, rtol=0)
    torch.testing.assert_close(
        model.intercept, torch.tensor([1.5, -3.0]).double(), atol=1e-6, rtol=0
    )


def test_ridge_bad_inputs():
    X, Y = torch.randn(10, 3), torch.randn(10, 2)
    with pytest.raises(ClimbenchError, match="same number of samples"):
        Ridge().fit(X, Y[:9])
    with pytest.raises(ClimbenchError, match="NaN or infinite"):
        Ridge().fit(X.index_fill(0, torch.tensor([4]), float("nan")), Y)
    with pytest.raises(ClimbenchError, match=r"Y must be 2-D.*Y\[:, None\]"):
        Ridge().fit(X, Y[:, 0])
    with pytest.raises(ClimbenchError, match="alpha must be finite and >= 0"):
        Ridge(alpha=-1.0)
    with pytest.raises(ClimbenchError, match="not fitted"):
        Ridge().predict(X)
    with pytest.raises(ClimbenchError, match="must have 3 columns"):
        Ridge().fit(X, Y).predict(torch.randn(4, 5))
    for seed in range(50):  # collinear columns factor at rounding level for some draws
        X = torch.randn(10, 3, generator=torch.Generator().manual_seed(seed))
        with pytest.raises(ClimbenchError, match="singular"):
            Ridge(alpha=0.0).fit(torch.cat([X, X[:, :1]], dim=1), Y)


# Saving fitted state


def test_fitted_state_roundtrips_through_torch_save(tmp_path):
    rng = np.random.default_rng(3)
    forcings, fields = rng.normal(size=(20, 3)), rng.normal(size=(20, 40))
    fitted = {"ridge": Ridge(alpha=0.5).fit(torch.tensor(forcings), torch.tensor(fields))}
    for name, model in fitted.items():
        torch.save(model.to_tensors(), tmp_path / f"{name}.pt")
        state = torch.load(tmp_path / f"{name}.pt", weights_only=True)
        loaded = type(model).from_tensors(state)
        x = torch.tensor(forcings[:4])
        torch.testing.assert_close(loaded.predict(x), model.predict(x), atol=0, rtol=0)
    with pytest.raises(ClimbenchError, match=r"missing \['intercept'\]"):
        Ridge.from_tensors(
            {k: v for k, v in fitted["ridge"].to_tensors().items() if k != "intercept"}
        )


def test_climax_variable_aggregation_equals_multihead_attention() -> None:
    """The written-out aggregation (one constant query, softmax over the variables) is
    nn.MultiheadAttention with the same weights, as the reference ClimaX calls it."""
    torch.manual_seed(0)
    model = small_climax()
    for p in model.variable_aggregation.parameters():  # non-zero biases too
        torch.nn.init.normal_(p, std=0.3)
    tokens = torch.randn(2, 5, 3, 32)  # (B, L, V, D)
    flat = tokens.reshape(-1, 3, 32)
    query = model.variable_query.expand(len(flat), -1, -1)
    expected, _ = model.variable_aggregation(query, flat, flat, need_weights=False)
    torch.testing.assert_close(model.aggregate(tokens), expected.view(2, 5, 32))
