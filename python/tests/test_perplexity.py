"""mfc.perplexity: the bundled model scores held-out text alike on three runtimes."""
import numpy as np

from mfc import perplexity


def test_three_runtimes_agree_on_heldout_text():
    with open(perplexity.HELDOUT_TEXT, "rb") as f:
        tokens = np.frombuffer(f.read()[:512], np.uint8).astype(np.int64)
    results = perplexity.perplexities(perplexity.EXAMPLE_MODEL, tokens,
                                      ["reference", "onnxruntime", "mfc"])
    assert set(results) == {"reference", "onnxruntime", "mfc"}
    # A trained model: far better than uniform over 256 bytes, and no better than 1.
    assert all(1.0 < p < 8.0 for p in results.values()), results
    assert perplexity.agree_to_3_digits(list(results.values())), results


def test_agreement_is_to_the_third_digit():
    assert perplexity.agree_to_3_digits([2.9259, 2.9235])
    assert not perplexity.agree_to_3_digits([2.9259, 2.9320])
