"""The counts behind reported percentages, against values worked out independently of thalbook.

Expected counts are hand calculations written out here (e.g. 13/19 = 68.42%,
the only k/n with n up to 32 that rounds to 68.4%).
"""

from __future__ import annotations

import dataclasses

import pytest

from thalbook.core.analyses import efficacy
from thalbook.core.errors import InputError
from thalbook.core.inference import counts


def test_endoscopic_denominators_are_inferred_among_the_32_endoscoped(package):
    inferred = counts.count_inference(package, "he2017", efficacy.ENDOSCOPIC_OUTCOMES).set_index("outcome")
    # 68.4% is no k/32 (21/32 = 65.6%, 22/32 = 68.8%); 13/19 = 68.42% is the only k/n with n <= 32
    assert round(100 * 21 / 32, 1) != 68.4 and round(100 * 22 / 32, 1) != 68.4
    assert inferred.loc["endoscopic_response", "candidates"] == [(13, 19)]
    # 43.8%: 7/16 = 14/32 = 43.75%; the denominator of the endoscopy set is chosen
    assert inferred.loc["complete_endoscopic_remission", "candidates"] == [(7, 16), (14, 32)]
    assert inferred.loc["complete_endoscopic_remission", ["k", "n"]].tolist() == [14, 32]
    # 28.1%: 9/32 = 28.125%
    assert inferred.loc["mucosal_healing", ["k", "n"]].tolist() == [9, 32]


def test_count_inference_refuses_to_guess_between_candidates(package):
    rows = package.binary_outcomes.copy()
    row_id = "he2017-complete-endoscopic-remission-w24-abs-results"
    rows.loc[rows["id"] == row_id, "population"] = None  # no set size to choose 14/32 over 7/16
    changed = dataclasses.replace(package, binary_outcomes=rows)
    with pytest.raises(InputError, match=row_id):
        counts.count_inference(changed, "he2017", ["complete_endoscopic_remission"])
