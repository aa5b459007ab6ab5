"""What the books print on paper: checks (``checks_pdf``), their amount in words
(``words``) and the E-13B MICR line (``micr``). Plain data in, bytes out: nothing here
reads or writes the database."""
