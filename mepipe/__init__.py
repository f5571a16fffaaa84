"""mepipe: micro-expression clips to temporal-ranked and motion-intensity dynamic images.

A dataset release (annotation sheet and frames) in, a chunked zarr store of aligned TRDI
and MIDI dynamic images out, read by any trainer; the ``mepipe`` command is a thin layer
over the functions below. ``import mepipe`` imports nothing heavy: each name is in the
module given, imported when used. Pages: docs/index.md; every function: docs/api/.

Build a store
    mepipe.build.build                   a release in, a store out (resumes, adds arrays)
    mepipe.release.registry.get_recipe   a dataset's recipe by name (recipe_names lists them)
    mepipe.release.SheetRecipe           the base of a recipe read from a sheet, for plug-ins
    mepipe.release.check.check_release   check a release on disk against its sheet
    mepipe.synth.synthesize              a synthetic release in a real release's layout

Read a store
    mepipe.dataset.open_dataset          the store as a lazy xarray Dataset, indexed by sample
    mepipe.dataset.loso_splits           leave-one-subject-out folds, as mepipe train runs them
    mepipe.dataset.lodo_splits           leave-one-dataset-out folds of a composite store
    mepipe.dataset.split_manifest        the folds as CSV rows, for other trainers
    mepipe.dataset.TorchDataset          the store as a PyTorch Dataset (train extra)
    mepipe.dataset.export.export         PNG folders, npz archives or STSTNet's flow images

Look at a store
    mepipe.report.summary.describe       counts per status, class and subject; provenance
    mepipe.report.page.write_report      an HTML page of every sample
    mepipe.report.preview.write_previews PNG contact sheets, one per class
    mepipe.store.verify.verify_store     re-read every sample against its checksum

Train (train extra: PyTorch)
    mepipe.train.train                   a LOSO (or LODO) run of one model on a store
    mepipe.train.sweep.sweep             models x seeds, here or on Dask workers
    mepipe.train.models.build_model      any registered model by name (register_model adds one)

The method's numerics (pure functions on arrays)
    mepipe.imaging.rankpool.arp_weights     approximate rank pooling weights of T frames
    mepipe.imaging.rankpool.rank_pool       one dynamic image of frames in time order
    mepipe.imaging.rankpool.motion_order    frame order by motion intensity (MIDI)
    mepipe.imaging.rankpool.dynamic_images  TRDI and MIDI of a clip
    mepipe.imaging.align.aligner            face detection, landmarks, similarity warp
    mepipe.imaging.flow.optical_flow        TV-L1 or DIS flow between two aligned frames
    mepipe.imaging.flow.strain              optical strain of a flow field
    mepipe.release.au.parse_action_units    an AU cell of a sheet as tokens and warnings
"""

__version__ = "0.1.0"
