"""`ots simulate`: one realistic day driven through the public interfaces of a running OTS."""
