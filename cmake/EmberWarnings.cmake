# Compiler flags shared by every ember target.
set(EMBER_C_WARNINGS -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes
    -Wshadow -Wpointer-arith -Wno-unused-parameter)
if(EMBER_WERROR)
  list(APPEND EMBER_C_WARNINGS -Werror)
endif()
add_compile_definitions(_GNU_SOURCE)

if(EMBER_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

if(EMBER_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
