"""One-click corrections: a lesion from one click, a missed liver part grown in, a leak cut off. No Qt.

Modules: :mod:`.lesion` (a lesion click, positive or negative), :mod:`.new_lesion` (a new lesion's region),
:mod:`.lesion_extend` (a drawn lesion extended to a click), :mod:`.thick_slices` (thin slices merged for those two),
:mod:`.liver_smoothing` (the CT smoothed within the liver or soft tissue, kept between lesion clicks), :mod:`.liver` (liver
clicks) and :mod:`.common` (what they share: the planned edit, distances, smoothing, walks).

Each click is planned without touching the label map (:class:`ClickEdit`, so a worker can plan it) and
applied as one undoable change (``LabelMap.apply``): undo, autosave and the lesion panel treat it like
a brush stroke.

- Lesion, positive click: the image first (:func:`lesion_region`): the lesion's contrast to the surrounding
  liver (brighter or darker), thresholded half-way and re-set from the region's median, restricted to the
  liver, opened to cut thin vessel bridges, kept within a radius prior and followed out through a fainter
  rim; then its outline snapped onto the nearest edges by a random walker (``random_walk``). Without contrast
  at the click (an isodense lesion, an enhancing rim), the strongest edge around it bounds the lesion. A
  faint region that runs into a lesion already drawn is that lesion's missed part: the click extends the
  lesion out to it (a random walker from the lesion and the click against the parenchyma beyond, on the
  click's side only), with the tumour net's likely rim around it where the CT agrees. The tumour net's
  probability and the click net (``segment.click_net``) are the last resorts for a new lesion. The order was
  chosen with benchmarks/bench_clicks.py. Slices of 0.8 mm or less are merged into thicker ones first
  (:class:`_ThickSlices`).
- Lesion, negative click: on a lesion that earlier positive clicks made (``LabelMap.clicks``), a random
  walker inside it between those clicks and this one decides what goes. Otherwise a whole false lesion
  goes; clicked in a halo around a lesion of clear contrast, the lesion is trimmed to the image's outline
  of it; on a large lesion clicked away from its core, the click net redraws it from its core without the
  clicked part (without the net, the part nearer the click than the core goes). Removed tumour becomes
  liver inside the liver's local outline and background where it stuck out of it.
- Liver, positive click: a random walker (Grady 2006, ``random_walk``) within 60 mm, from the click and
  the liver already drawn against the cores of tissue unlike both; what it gives the click, of the click's
  and the liver's HU, touching the liver in its own slice, is added.
- Liver, negative click: a random walker inside the liver mask from the click against the liver's deepest
  part: what it gives the click goes, cut along edges (the diaphragm's fat line under the heart) or at a
  narrow neck. The erosion search for a neck and watershed cuts it replaced removed a thin left lobe with
  the heart, or half the heart (benchmarks/bench_clicks.py).
"""

from .common import ClickEdit, check_voxel
from .lesion import LEARNED_FIRST, learned_lesion_region, lesion_click, plan_lesion_click
from .lesion_extend import extend_lesion
from .liver import grow_along_edges, leak_along_edges, liver_click, plan_liver_click
from .liver_smoothing import LiverSmoothing, SoftTissueSmoothing, liver_smoothing_of, soft_tissue_smoothing_of
from .new_lesion import lesion_region

__all__ = [
    "LEARNED_FIRST",
    "ClickEdit",
    "LiverSmoothing",
    "SoftTissueSmoothing",
    "check_voxel",
    "extend_lesion",
    "grow_along_edges",
    "leak_along_edges",
    "learned_lesion_region",
    "lesion_click",
    "lesion_region",
    "liver_click",
    "liver_smoothing_of",
    "plan_lesion_click",
    "plan_liver_click",
    "soft_tissue_smoothing_of",
]
