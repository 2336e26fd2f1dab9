"""`netmon report`: the monthly answer per ISP contract and per kabupaten (issue 15).

figures: pure computation from contracts, outages, month and zone; prometheus: the quality
figures over HTTP; assemble: which reports and rows; sources: config, journal, state file;
render: CSV and HTML (templates/, texts/); pdf: chromium headless."""
