"""The confusion matrix stays readable with many classes: counts fit their cells, labels do
not collide, colours are each true class's shares, and the figure fits the report column."""

import matplotlib.image
import numpy as np
import pytest

from glassnet.report import figures


def confusion(n_classes, seed=0, high=60):
    """A plausible confusion matrix: a strong diagonal, sparse small errors."""
    rng = np.random.default_rng(seed)
    matrix = rng.integers(1, 4, (n_classes, n_classes)) * (rng.random((n_classes,) * 2) < 0.2)
    matrix[np.diag_indices(n_classes)] = rng.integers(high // 3, high, n_classes)
    return matrix


def drawn(matrix, classes):
    fig = figures.confusion_figure(matrix, classes)  # laid out as plot_confusion saves it
    fig.canvas.draw()
    return fig, fig.axes[0], fig.canvas.get_renderer()


def overlaps(boxes):
    return [
        (i, j)
        for i in range(len(boxes))
        for j in range(i + 1, len(boxes))
        if boxes[i].overlaps(boxes[j])
    ]


def test_thirty_classes_counts_fit_their_cells():
    matrix = confusion(30)
    fig, ax, renderer = drawn(matrix, [f"species_{i}" for i in range(30)])
    texts = ax.texts
    assert len(texts) == np.count_nonzero(matrix)  # zeros left blank, every count written
    for text in texts:
        assert text.get_fontsize() >= figures.MIN_FONT_POINTS
        col, row = text.get_position()
        corners = ax.transData.transform([(col - 0.5, row - 0.5), (col + 0.5, row + 0.5)])
        (left, top), (right, bottom) = corners  # the y axis of an image points down
        box = text.get_window_extent(renderer)
        assert left <= box.x0 and box.x1 <= right, text.get_text()
        assert bottom <= box.y0 and box.y1 <= top, text.get_text()
    figures.pyplot().close(fig)


@pytest.mark.parametrize("n_classes", [3, 30])
def test_class_labels_do_not_collide(n_classes):
    names = [f"species_{i}" for i in range(n_classes)]
    fig, ax, renderer = drawn(confusion(n_classes), names)
    for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
        assert [t.get_text() for t in labels] == names
        assert overlaps([t.get_window_extent(renderer) for t in labels]) == []
    figures.pyplot().close(fig)


def test_colours_are_each_true_class_share():
    matrix = np.array([[90, 10, 0], [1, 1, 0], [0, 0, 0]])
    fig, ax, _ = drawn(matrix, ["big", "small", "absent"])
    expected = np.zeros((3, 3))
    for row in range(3):
        total = sum(matrix[row])
        for col in range(3):
            expected[row, col] = matrix[row, col] / total if total else 0.0
    np.testing.assert_allclose(ax.images[0].get_array(), expected)
    # The rare class's 50% error is as dark as anything at 50%, whatever its count.
    assert ax.images[0].get_clim() == (0.0, 1.0)
    figures.pyplot().close(fig)


def test_too_many_classes_for_counts_keep_only_colours():
    fig, ax, _ = drawn(confusion(60, high=900), list(range(60)))
    assert len(ax.texts) == 0
    figures.pyplot().close(fig)


@pytest.mark.parametrize("n_classes", [10, 60])
def test_the_figure_fits_the_report_column_unscaled(n_classes, tmp_path):
    path = figures.plot_confusion(confusion(n_classes), list(range(n_classes)), tmp_path / "c.png")
    height, width = matplotlib.image.imread(path).shape[:2]
    assert width <= 880 and height <= 880  # report.html shows it at this size, not shrunk
