package config_test

import (
	"fmt"

	"github.com/segflow/segflow/config"
)

func ExampleParse() {
	yaml := []byte(`version: 1
warehouse:
  plugin: duckdb
sources:
  customers: {table: shop.customers}
  orders:
    table: shop.orders
    colums: {revenue: total}
`)
	_, err := config.Parse(yaml, "segflow.yaml")
	fmt.Println(err)
	// Output: segflow.yaml:8:5: sources.orders: unknown field "colums" (did you mean "columns"?)
}

func ExampleConfig_Pos() {
	cfg, err := config.Parse([]byte(`version: 1
warehouse:
  plugin: duckdb
sources:
  customers: {table: shop.customers}
  orders: {table: shop.orders}
segments:
  - name: lapsed
    model: rfm
    where: r_score <= 2
`), "segflow.yaml")
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.Pos("segments[0].where").Line)
	// Output: 10
}
