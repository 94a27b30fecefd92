"""What a run shows a person: matplotlib figures, the run folder's files and report.html."""
