"""What the trial's data turns into: endpoint summaries, charts, and the statistician's files."""
