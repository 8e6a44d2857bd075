//go:build duckdb_arrow

package sampledata

import (
	"fmt"
	"math"
)

// The product catalogue, the stores and the name lists are fixed: they do
// not depend on Options.Seed, so that the planted product ids are constants
// a test can rely on.

// Product is one row of the products table.
type Product struct {
	ID          int64
	Name        string
	Department  string
	Category    string
	Subcategory string
	Brand       string
	PriceCents  int64
}

// Store is one row of the stores table.
type Store struct {
	ID      int64
	Name    string
	City    string
	Country string
}

type subcatSpec struct {
	name             string
	noun             string
	priceLo, priceHi float64
}

type categorySpec struct {
	name    string
	subcats []subcatSpec
}

type departmentSpec struct {
	name       string
	brands     []string
	categories []categorySpec
}

// catalogSpec is the retail hierarchy: 5 departments, 21 categories, 63
// subcategories. Category and subcategory names are unique across the
// whole catalogue so that a model grouping by the name alone is not
// confused.
var catalogSpec = []departmentSpec{
	{"Clothing", []string{"Northwind", "Aurelia", "Kestrel", "Mode Nord", "Linnea", "Urban Fox"}, []categorySpec{
		{"Womenswear", []subcatSpec{{"Dresses", "Dress", 30, 120}, {"Tops", "Top", 12, 45}, {"Jeans", "Jeans", 35, 95}}},
		{"Menswear", []subcatSpec{{"Shirts", "Shirt", 20, 70}, {"Trousers", "Trousers", 30, 90}, {"Jackets", "Jacket", 60, 220}}},
		{"Kidswear", []subcatSpec{{"Baby", "Baby Bodysuit", 8, 25}, {"Boys", "Boys T-Shirt", 8, 25}, {"Girls", "Girls Dress", 12, 35}}},
		{"Footwear", []subcatSpec{{"Sneakers", "Sneaker", 45, 130}, {"Boots", "Boot", 60, 180}, {"Sandals", "Sandal", 20, 60}}},
		{"Accessories", []subcatSpec{{"Bags", "Bag", 25, 150}, {"Hats", "Hat", 10, 35}, {"Socks", "Socks", 5, 15}}},
	}},
	{"Home", []string{"Hearth & Co", "Casa Viva", "Lumen", "Nordic Nest", "Kitchenette", "Pure Home"}, []categorySpec{
		{"Kitchen", []subcatSpec{{"Cookware", "Pan", 20, 90}, {"Coffee Machines", "Coffee Machine", 80, 450}, {"Utensils", "Utensil Set", 8, 35}}},
		{"Bedding", []subcatSpec{{"Duvets", "Duvet", 40, 160}, {"Pillows", "Pillow", 15, 50}, {"Sheets", "Sheet Set", 25, 80}}},
		{"Decor", []subcatSpec{{"Candles", "Candle", 6, 25}, {"Frames", "Frame", 8, 40}, {"Vases", "Vase", 15, 70}}},
		{"Cleaning", []subcatSpec{{"Detergents", "Detergent", 4, 15}, {"Descalers", "Descaler", 5, 14}, {"Sponges", "Sponge Pack", 2, 8}}},
	}},
	{"Beauty", []string{"Belle Rose", "Verdant", "Lumiere", "Skinlab", "Aqua Pura", "Noir Atelier"}, []categorySpec{
		{"Skincare", []subcatSpec{{"Moisturisers", "Moisturiser", 10, 60}, {"Cleansers", "Cleanser", 6, 30}, {"Sunscreen", "Sunscreen", 8, 30}}},
		{"Haircare", []subcatSpec{{"Shampoo", "Shampoo", 4, 18}, {"Conditioner", "Conditioner", 4, 18}, {"Styling", "Styling Gel", 5, 25}}},
		{"Makeup", []subcatSpec{{"Lipstick", "Lipstick", 8, 35}, {"Mascara", "Mascara", 8, 30}, {"Foundation", "Foundation", 12, 45}}},
		{"Fragrance", []subcatSpec{{"Women's Fragrance", "Eau de Parfum", 35, 120}, {"Men's Fragrance", "Eau de Toilette", 30, 100}, {"Gift Sets", "Gift Set", 25, 90}}},
	}},
	{"Electronics", []string{"Voltix", "Sonora", "Pixelon", "Trekon", "Nimbus", "Arcwave"}, []categorySpec{
		{"Phones", []subcatSpec{{"Smartphones", "Smartphone", 150, 1100}, {"Phone Cases", "Phone Case", 8, 40}, {"Chargers", "Charger", 12, 45}}},
		{"Cameras", []subcatSpec{{"Mirrorless Cameras", "Mirrorless Camera", 500, 1800}, {"Lenses", "Lens", 150, 900}, {"Action Cameras", "Action Camera", 120, 450}}},
		{"Audio", []subcatSpec{{"Headphones", "Headphones", 40, 350}, {"Speakers", "Speaker", 30, 300}, {"Earbuds", "Earbuds", 25, 250}}},
		{"Computing", []subcatSpec{{"Memory Cards", "Memory Card", 10, 60}, {"Keyboards", "Keyboard", 20, 150}, {"Mice", "Mouse", 10, 90}}},
	}},
	{"Sports", []string{"Stridewell", "Peakline", "Fitcore", "Velotec", "Summit & Sons", "Aquaflow"}, []categorySpec{
		{"Running", []subcatSpec{{"Running Shoes", "Running Shoe", 60, 180}, {"Running Apparel", "Running Shirt", 20, 60}, {"GPS Watches", "GPS Watch", 120, 500}}},
		{"Fitness", []subcatSpec{{"Yoga Mats", "Yoga Mat", 15, 70}, {"Dumbbells", "Dumbbell Set", 20, 150}, {"Resistance Bands", "Resistance Band", 8, 30}}},
		{"Outdoor", []subcatSpec{{"Tents", "Tent", 60, 400}, {"Backpacks", "Backpack", 30, 180}, {"Sleeping Bags", "Sleeping Bag", 40, 200}}},
		{"Cycling", []subcatSpec{{"Helmets", "Helmet", 30, 150}, {"Bike Lights", "Bike Light", 10, 60}, {"Cycling Jerseys", "Cycling Jersey", 30, 100}}},
	}},
}

// productsPerSubcategory is the number of products in every subcategory.
const productsPerSubcategory = 5

// plantedSpec names the two products of a planted pair: the first
// product (index plantedIndex) of each subcategory, sold under a specialty
// brand of its own so that the pair is also a brand pair.
type plantedSpec struct {
	subA, brandA string
	subB, brandB string
}

var plantedSpecs = []plantedSpec{
	{"Mirrorless Cameras", "Optika", "Memory Cards", "CardVault"},
	{"Running Shoes", "Swiftfoot", "Socks", "Solewarm"},
	{"Coffee Machines", "Crema", "Descalers", "Kalkfrei"},
}

// specialtyProducts is how many products (the first ones of the
// subcategory) carry a planted product's specialty brand; the first is the
// planted product itself.
const specialtyProducts = 2

// Pair is a planted co-purchase pair. A is the anchor: when an order holds
// A, B is added to it with probability PairProbability. The hierarchy
// fields name the levels at which the pair is also planted.
type Pair struct {
	A, B                       int64 // product ids
	NameA, NameB               string
	DepartmentA, DepartmentB   string
	CategoryA, CategoryB       string
	SubcategoryA, SubcategoryB string
	BrandA, BrandB             string
}

// NextCategory is the planted "next category" pattern: after an order that
// holds a product of From, the customer's next order holds a product of To
// with probability at least NextCategoryProbability.
type NextCategory struct {
	From, To string // category names
}

var (
	products   []Product
	productIdx = map[string][]int{} // subcategory -> indexes into products
	categoryOf []int                // product index -> category number
	categories []string             // category number -> name
	brands     []string
)

func init() {
	buildCatalog()
	PlantedPairs = plantedPairs()
}

// buildCatalog lays out the hierarchy in spec order, productsPerSubcategory
// products per subcategory, ids 1..len(products). Prices spread over the
// subcategory's range by a golden-ratio sequence and end in .99 (or .49).
func buildCatalog() {
	specialty := map[string]string{}
	for _, p := range plantedSpecs {
		specialty[p.subA] = p.brandA
		specialty[p.subB] = p.brandB
	}
	seenBrand := map[string]bool{}
	addBrand := func(b string) {
		if !seenBrand[b] {
			seenBrand[b] = true
			brands = append(brands, b)
		}
	}
	models := []string{"Classic", "Pro", "Lite", "Plus", "Air", "Max", "One", "Edge", "Flex", "Prime"}
	k := 0
	for _, d := range catalogSpec {
		for ci, c := range d.categories {
			catNo := len(categories)
			categories = append(categories, c.name)
			for si, s := range c.subcats {
				for j := 0; j < productsPerSubcategory; j++ {
					brand := d.brands[(ci*3+si*2+j)%len(d.brands)]
					if b, ok := specialty[s.name]; ok && j < specialtyProducts {
						brand = b
					}
					addBrand(brand)
					frac := math.Mod(float64(k+1)*0.6180339887, 1)
					price := s.priceLo + frac*(s.priceHi-s.priceLo)
					cents := int64(price)*100 + 99
					if s.priceHi < 20 {
						cents = int64(price)*100 + 49
					}
					id := int64(len(products) + 1)
					name := fmt.Sprintf("%s %s %s %d", brand, s.noun, models[(k*7)%len(models)], 100+(k*37)%900)
					productIdx[s.name] = append(productIdx[s.name], len(products))
					categoryOf = append(categoryOf, catNo)
					products = append(products, Product{id, name, d.name, c.name, s.name, brand, cents})
					k++
				}
			}
		}
	}
}

func plantedPairs() []Pair {
	var out []Pair
	for _, s := range plantedSpecs {
		a := products[productIdx[s.subA][0]]
		b := products[productIdx[s.subB][0]]
		out = append(out, Pair{
			A: a.ID, B: b.ID, NameA: a.Name, NameB: b.Name,
			DepartmentA: a.Department, DepartmentB: b.Department,
			CategoryA: a.Category, CategoryB: b.Category,
			SubcategoryA: a.Subcategory, SubcategoryB: b.Subcategory,
			BrandA: a.Brand, BrandB: b.Brand,
		})
	}
	return out
}

// Products returns the fixed product catalogue (a copy).
func Products() []Product { return append([]Product(nil), products...) }

// Stores returns the fixed list of stores (a copy).
func Stores() []Store { return append([]Store(nil), stores...) }

var stores = []Store{
	{1, "Berlin Alexanderplatz", "Berlin", "DE"},
	{2, "Hamburg Jungfernstieg", "Hamburg", "DE"},
	{3, "Munich Marienplatz", "Munich", "DE"},
	{4, "Cologne Schildergasse", "Cologne", "DE"},
	{5, "Frankfurt Zeil", "Frankfurt", "DE"},
	{6, "London Oxford Street", "London", "GB"},
	{7, "Manchester Arndale", "Manchester", "GB"},
	{8, "Birmingham Bullring", "Birmingham", "GB"},
	{9, "Paris Rivoli", "Paris", "FR"},
	{10, "Lyon Part-Dieu", "Lyon", "FR"},
	{11, "Marseille Canebière", "Marseille", "FR"},
	{12, "Amsterdam Kalverstraat", "Amsterdam", "NL"},
	{13, "Rotterdam Lijnbaan", "Rotterdam", "NL"},
	{14, "Madrid Gran Vía", "Madrid", "ES"},
	{15, "Barcelona Passeig de Gràcia", "Barcelona", "ES"},
	{16, "Milan Corso Buenos Aires", "Milan", "IT"},
	{17, "Rome Via del Corso", "Rome", "IT"},
	{18, "Stockholm Drottninggatan", "Stockholm", "SE"},
	{19, "Warsaw Marszałkowska", "Warsaw", "PL"},
	{20, "Vienna Mariahilfer Straße", "Vienna", "AT"},
}

// country is a customer country with its share of customers and the
// pieces of an E.164 mobile number: calling code, mobile prefix and the
// number of random digits that follow.
type country struct {
	code   string
	share  float64
	cc     string
	prefix string
	digits int
	stores []int64 // store ids in the country; none means online only
}

var countries = []country{
	{"DE", 0.28, "+49", "15", 9, nil},
	{"GB", 0.20, "+44", "7", 9, nil},
	{"FR", 0.14, "+33", "6", 8, nil},
	{"NL", 0.08, "+31", "6", 8, nil},
	{"ES", 0.08, "+34", "6", 8, nil},
	{"IT", 0.08, "+39", "3", 9, nil},
	{"SE", 0.04, "+46", "7", 8, nil},
	{"PL", 0.04, "+48", "5", 8, nil},
	{"AT", 0.04, "+43", "66", 8, nil},
	{"BE", 0.02, "+32", "4", 8, nil},
}

func init() {
	for i := range countries {
		for _, s := range stores {
			if s.Country == countries[i].code {
				countries[i].stores = append(countries[i].stores, s.ID)
			}
		}
	}
}

var femaleNames = []string{"Anna", "Emma", "Mia", "Sofia", "Olivia", "Lena", "Clara", "Julia", "Laura", "Sara",
	"Marie", "Chloe", "Alice", "Elena", "Giulia", "Martina", "Lucia", "Paula", "Ella", "Ida",
	"Maja", "Zofia", "Hanna", "Lea", "Nina", "Eva", "Charlotte", "Amelia", "Isla", "Freya"}

var maleNames = []string{"Lukas", "Leon", "Noah", "Elias", "Paul", "Jonas", "Felix", "Max", "Oliver", "Jack",
	"Harry", "George", "Louis", "Hugo", "Gabriel", "Lucas", "Daan", "Sem", "Mateo", "Arthur",
	"Leonardo", "Francesco", "Alessandro", "Oscar", "William", "Jan", "Jakub", "Antoni", "Tobias", "David"}

var lastNames = []string{"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann", "Schulz",
	"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Evans", "Thomas",
	"Martin", "Bernard", "Dubois", "Lefebvre", "Robert", "Richard", "Petit", "Durand", "de Jong", "Jansen",
	"de Vries", "van den Berg", "García", "Fernández", "González", "Rodríguez", "López", "Rossi", "Russo", "Ferrari",
	"Esposito", "Bianchi", "Andersson", "Johansson", "Karlsson", "Nowak", "Kowalski", "Wiśniewski", "Gruber", "Huber",
	"Peeters", "Janssens", "Maes", "Lehmann", "Krüger", "Walker", "Wright", "Roberts", "Moreau", "Laurent"}
