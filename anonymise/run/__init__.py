"""A run over folders of photos: plan -> worker -> pool, with resume, report and console.

- ``settings``: what a copy is (``CopySettings``) and how a run goes (``RunOptions``);
- ``plan``: which files a run reads and where each copy goes;
- ``worker``: one job — the photo's checks, the core, a one-line ``Outcome`` (``outcome``);
- ``pool``: where the jobs of a local run are done (this process, or worker processes);
- ``local``: the run on this machine, in the plan's order, stoppable;
- ``resume``: which copies are already complete, kept outside the published folder;
- ``report`` and ``console``: what the report file, the terminal and scripts see.
"""
