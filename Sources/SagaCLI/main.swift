print("saga")
