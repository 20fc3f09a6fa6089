print("spacehub")
