"""The parts of a monthly report, one module each; `indexer.parse.parse_report` puts them together.

    sections         where each part starts (headings, not the contents list)
    appendix         附件一 / 附件二: the policy texts and their metadata blocks
    policy_tables    2.1 / 2.2: the tables of policies, their links, their merge onto the texts
    urls             the links dumped at the end of each appendix page
    policy_metadata  the printed metadata made into normalised fields, the source's errors caught
    activities       1.2 bullets and the 2.3 table of activities
    interpretations  3.1 interpretations and the policy each one interprets
    model            the parse result and the drafts that carry a record between passes
    cells, matching  helpers shared by the parts: table cells, one-to-one matching, title keys
"""
