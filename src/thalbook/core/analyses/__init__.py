"""The analyses room: what the book estimates and judges about the source studies.

Who was in each study when, the efficacy tables and the changes of continuous measures,
the context studies beside them, harms, the appraisal instruments and GRADE, the
multiverse, and the results package that publishes them.
"""
